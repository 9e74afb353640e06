package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

// metricsServer returns the HTTP server of -metrics-listen: the broker's
// metrics at /metrics in Prometheus's text format and, with -pprof, the Go
// profiler's endpoints under /debug/pprof/. Nothing else is served.
func metricsServer(srv *broker.Server, withPprof bool, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", srv.MetricsHandler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Longer than scrape intervals (Prometheus's default is 1 m), so
		// that a scraper keeps its connection, and short enough that idle
		// ones do not pile up.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
