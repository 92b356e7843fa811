package outputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "xoxb-very-secret-value"
	s := Secret(value)
	type holder struct {
		Name  string
		Token Secret
	}
	h := holder{Name: "n", Token: s}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("cfg", "token", s, "holder", h)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s),
		"%x": fmt.Sprintf("%x", s), "%+v": fmt.Sprintf("%+v", h), "%#v": fmt.Sprintf("%#v", h),
		"%v struct": fmt.Sprintf("%v", h), "json": string(js), "slog": logBuf.String(),
		"%v ptr": fmt.Sprintf("%v", &s),
	} {
		if strings.Contains(got, value) {
			t.Errorf("%s leaks the secret: %s", name, got)
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("%s does not say %s: %s", name, Redacted, got)
		}
	}
	if string(s) != value {
		t.Errorf("explicit conversion must keep the value")
	}
	if Secret("").String() != "" {
		t.Errorf("an empty secret prints empty")
	}
}

func TestCheckHeaders(t *testing.T) {
	if err := CheckHeaders("webhook.headers", map[string]string{"Authorization": "Bearer abc"}); err != nil {
		t.Fatal(err)
	}
	err := CheckHeaders("webhook.headers", map[string]string{"Authorization": "Bearer s3cret\n"})
	if err == nil || !strings.HasPrefix(err.Error(), "webhook.headers.Authorization: the value contains a newline") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v", err)
	}
	if err := CheckHeaders("h", map[string]string{"Bad Name": "x"}); err == nil {
		t.Fatal("a name with a space was accepted")
	}
}
