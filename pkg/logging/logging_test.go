package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLevelChangesAtRunTime(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Options{Output: &buf, Level: slog.LevelWarn})
	if err != nil {
		t.Fatal(err)
	}
	s.Logger.Info("hidden")
	if buf.Len() != 0 {
		t.Fatalf("info logged at warn level: %q", buf.String())
	}
	if !s.Apply(slog.LevelWarn, true) {
		t.Fatal("Apply(debug) reported no change")
	}
	s.Logger.Debug("shown", "k", "v")
	if !strings.Contains(buf.String(), "msg=shown") || !strings.Contains(buf.String(), "level=DEBUG") {
		t.Fatalf("debug record missing after Apply: %q", buf.String())
	}
	if s.Apply(slog.LevelError, true) {
		t.Fatal("debug flag set: level must stay Debug and report no change")
	}
	if !s.Apply(slog.LevelError, false) || s.Level.Level() != slog.LevelError {
		t.Fatalf("level = %v, want ERROR", s.Level.Level())
	}
}

func TestJSONAndCritical(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Options{Output: &buf, Format: FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	s.Logger.Log(t.Context(), LevelCritical, "boom")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", buf.String(), err)
	}
	if rec["level"] != "CRITICAL" || rec["msg"] != "boom" {
		t.Fatalf("record = %v", rec)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warning": slog.LevelWarn,
		"warn": slog.LevelWarn, "ERROR": slog.LevelError, "critical": LevelCritical,
		" info+2 ": slog.LevelInfo + 2,
	} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("ParseLevel(loud) error = %v", err)
	}
	if f, err := ParseFormat("JSON"); err != nil || f != FormatJSON {
		t.Errorf("ParseFormat(JSON) = %v, %v", f, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) accepted")
	}
	if _, err := New(Options{Format: "xml"}); err == nil {
		t.Error("New accepted format xml")
	}
}
