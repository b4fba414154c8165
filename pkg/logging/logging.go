package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Format selects the slog handler.
type Format string

const (
	// FormatText selects slog.TextHandler (key=value), the default.
	FormatText Format = "text"
	// FormatJSON selects slog.JSONHandler, one JSON object a line.
	FormatJSON Format = "json"
)

// LevelCritical is oslo's CRITICAL level, above slog.LevelError.
const LevelCritical = slog.LevelError + 4

// Options configures [New]. The zero value logs text at Info to stderr.
type Options struct {
	// Format is FormatText (default) or FormatJSON.
	Format Format
	// Level is the minimum level when Debug is false.
	Level slog.Level
	// Debug forces slog.LevelDebug, like oslo.log's debug option.
	Debug bool
	// Output receives the records; nil means os.Stderr.
	Output io.Writer
	// AddSource adds the caller's file:line to each record.
	AddSource bool
}

// Setup is a logger together with the level variable that controls it.
type Setup struct {
	// Logger writes through a handler whose minimum level is Level.
	Logger *slog.Logger
	// Level is shared with the handler: changing it takes effect at once.
	Level *slog.LevelVar
}

// New builds the logger described by opts.
//
//	s, err := logging.New(logging.Options{Format: logging.FormatJSON, Debug: cfg.Debug})
//	if err != nil { ... }
//	slog.SetDefault(s.Logger)
//	// on SIGHUP, after re-reading the config:
//	s.Apply(newLevel, newDebug)
func New(opts Options) (Setup, error) {
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	lv := new(slog.LevelVar)
	lv.Set(Effective(opts.Level, opts.Debug))
	ho := &slog.HandlerOptions{Level: lv, AddSource: opts.AddSource, ReplaceAttr: replaceLevel}
	var h slog.Handler
	switch opts.Format {
	case FormatText, "":
		h = slog.NewTextHandler(out, ho)
	case FormatJSON:
		h = slog.NewJSONHandler(out, ho)
	default:
		return Setup{}, fmt.Errorf("logging: unknown format %q (want %q or %q)", opts.Format, FormatText, FormatJSON)
	}
	return Setup{Logger: slog.New(h), Level: lv}, nil
}

// Apply sets the level from configuration values as read on a reload and
// reports whether it changed.
func (s Setup) Apply(level slog.Level, debug bool) (changed bool) {
	want := Effective(level, debug)
	if s.Level.Level() == want {
		return false
	}
	s.Level.Set(want)
	return true
}

// Effective is the level a handler should use: Debug when debug is set,
// level otherwise.
func Effective(level slog.Level, debug bool) slog.Level {
	if debug {
		return slog.LevelDebug
	}
	return level
}

// ParseLevel reads a level name as oslo.log and slog spell them, case
// insensitively: DEBUG, INFO, WARNING or WARN, ERROR, CRITICAL or FATAL.
// slog's offset forms such as "INFO+2" are accepted too.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "WARNING":
		return slog.LevelWarn, nil
	case "CRITICAL", "FATAL":
		return LevelCritical, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("logging: unknown level %q (want DEBUG, INFO, WARNING, ERROR or CRITICAL)", s)
	}
	return l, nil
}

// ParseFormat reads "text" or "json", case insensitively; "" means text.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FormatText:
		return FormatText, nil
	case FormatJSON:
		return FormatJSON, nil
	default:
		return "", fmt.Errorf("logging: unknown format %q (want %q or %q)", s, FormatText, FormatJSON)
	}
}

// replaceLevel prints LevelCritical as CRITICAL instead of slog's "ERROR+4".
func replaceLevel(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.LevelKey {
		if l, ok := a.Value.Any().(slog.Level); ok && l == LevelCritical {
			a.Value = slog.StringValue("CRITICAL")
		}
	}
	return a
}
