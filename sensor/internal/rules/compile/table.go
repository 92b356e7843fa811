package compile

import (
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
)

type tableField struct{ f *fields.Field }

func (t tableField) Kind() fields.Kind { return t.f.Kind }
func (t tableField) Multi() bool       { return t.f.Multi }
func (t tableField) Extract(ev *event.Event, dst []fields.Value) []fields.Value {
	return t.f.Extract(ev, dst)
}
func (t tableField) Render(v []fields.Value) string { return t.f.Render(v) }
func (t tableField) JSON(v []fields.Value) any      { return t.f.JSON(v) }

// FromTable adapts the fields table to a Resolver.
func FromTable(t *fields.Table) Resolver {
	return func(name, arg string) (Field, error) {
		f, err := t.Resolve(name, arg)
		if err != nil {
			return nil, err
		}
		return tableField{f}, nil
	}
}
