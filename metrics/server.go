package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ListenAddr returns the address --metrics ADDR listens on: HOST:PORT as
// given, and a bare port (9713 or :9713) on 127.0.0.1 only, so that nothing
// is served beyond the host unless asked for (0.0.0.0:9713, [::]:9713).
func ListenAddr(addr string) (string, error) {
	bad := fmt.Errorf("--metrics %q: want [HOST:]PORT, e.g. 127.0.0.1:9713, or 9713 for localhost", addr)
	host, port := "127.0.0.1", strings.TrimPrefix(addr, ":")
	if strings.Contains(port, ":") {
		var err error
		if host, port, err = net.SplitHostPort(addr); err != nil || host == "" {
			return "", bad
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 && port != "0" {
		return "", bad
	}
	return net.JoinHostPort(host, port), nil
}

// Server serves /metrics, and nothing else (404).
type Server struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Listen starts serving e's metrics, with the Go runtime's and the
// process's, on addr (see ListenAddr).
func Listen(addr string, e *Exporter) (*Server, error) {
	a, err := ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := &Server{ln: ln, done: make(chan struct{}),
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}}
	go func() {
		defer close(s.done)
		s.http.Serve(ln)
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops serving and waits until the server stopped.
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
