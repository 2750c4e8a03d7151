package temporalserver

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// levelHandler drops records below min before they reach the wrapped handler.
// The Temporal server is very chatty at info level, so its logs are filtered
// to warn and above; Stop raises min to silence the shutdown noise.
type levelHandler struct {
	min *slog.LevelVar
	h   slog.Handler
}

func (l levelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min.Level() && l.h.Enabled(ctx, level)
}

func (l levelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < l.min.Level() {
		return nil
	}
	return l.h.Handle(ctx, r)
}

func (l levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{min: l.min, h: l.h.WithAttrs(attrs)}
}

func (l levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{min: l.min, h: l.h.WithGroup(name)}
}

// serverLogger adapts an slog.Logger to the Temporal server's log.Logger.
type serverLogger struct {
	l *slog.Logger
}

var (
	_ log.Logger      = serverLogger{}
	_ log.WithLogger  = serverLogger{}
	_ log.SLogWrapper = serverLogger{}
)

// levelSilent is above every slog level: nothing passes.
const levelSilent = slog.Level(1 << 10)

func newServerLogger(base *slog.Logger, min *slog.LevelVar) serverLogger {
	return serverLogger{l: slog.New(levelHandler{min: min, h: base.Handler()}).With("component", "temporal")}
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors: an embedded server must never
// take the host process down.
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }

// SLog lets the server hand the same (filtered) logger to code that wants slog.
func (s serverLogger) SLog() *slog.Logger { return s.l }

func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	if len(tags) == 0 {
		return s
	}
	args := make([]any, 0, len(tags))
	for _, t := range tags {
		args = append(args, slog.Any(t.Key(), t.Value()))
	}
	return serverLogger{l: s.l.With(args...)}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}
