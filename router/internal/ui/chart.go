package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/internal/history"
)

// Charts are SVG drawn on the server: no script, nothing to load, and
// every label escaped by the template.
const (
	chartW = 1000
	chartH = 180
)

type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type line struct {
	Points string
	Class  string
	Name   string
	Total  int64
}

type tick struct {
	X     float64
	Label string
}

type chart struct {
	W, H  int
	Bars  []bar
	Lines []line
	Ticks []tick
	Max   int64
	Empty bool
}

// stepFor picks a bucket width giving about 60–100 bars.
func stepFor(d time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		if d/s <= 100 {
			return s
		}
	}
	return 24 * time.Hour
}

func ticks(span history.Span, n int) []tick {
	var out []tick
	total := span.Until.Sub(span.Since)
	layout := "15:04"
	if total > 48*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := span.Since.Add(total * time.Duration(i) / 4)
		out = append(out, tick{X: float64(chartW) * float64(i) / 4, Label: t.UTC().Format(layout)})
	}
	_ = n
	return out
}

// stacked draws one bar per bucket, stacked by priority.
func stacked(span history.Span, series []history.Series) chart {
	c := chart{W: chartW, H: chartH, Ticks: ticks(span, 0)}
	if len(series) == 0 {
		c.Empty = true
		return c
	}
	n := len(series[0].Counts)
	sums := make([]int64, n)
	for _, s := range series {
		for i, v := range s.Counts {
			sums[i] += v
		}
	}
	for _, v := range sums {
		c.Max = max(c.Max, v)
	}
	if c.Max == 0 {
		c.Empty = true
		return c
	}
	bw := float64(chartW) / float64(n)
	base := make([]float64, n)
	for _, s := range series {
		for i, v := range s.Counts {
			if v == 0 {
				continue
			}
			h := float64(v) / float64(c.Max) * chartH
			t := span.Since.Add(time.Duration(i) * span.Step)
			c.Bars = append(c.Bars, bar{
				X: float64(i) * bw, Y: chartH - base[i] - h, W: max(bw-1, 1), H: h, Class: prioClass(s.Name),
				Title: fmt.Sprintf("%s: %d %s", t.UTC().Format("Jan 2 15:04"), v, s.Name),
			})
			base[i] += h
		}
	}
	return c
}

// lines draws one line per series (the top rules).
func lines(span history.Span, series []history.Series) chart {
	c := chart{W: chartW, H: chartH, Ticks: ticks(span, 0)}
	for _, s := range series {
		for _, v := range s.Counts {
			c.Max = max(c.Max, v)
		}
	}
	if c.Max == 0 {
		c.Empty = true
		return c
	}
	for k, s := range series {
		n := len(s.Counts)
		var pts []string
		for i, v := range s.Counts {
			x := float64(chartW) * (float64(i) + 0.5) / float64(n)
			y := chartH - float64(v)/float64(c.Max)*(chartH-4) - 2
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		c.Lines = append(c.Lines, line{Points: strings.Join(pts, " "), Class: fmt.Sprintf("s%d", k), Name: s.Name, Total: s.Total})
	}
	return c
}
