package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad duration", map[string]string{"SESSION_IDLE_TIMEOUT": "ten"}, "SESSION_IDLE_TIMEOUT"},
		{"production without Redis", map[string]string{"APP_ENV": "production", "SCALEKIT_ENVIRONMENT_URL": "https://x.scalekit.dev",
			"SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b", "APP_BASE_URL": "https://app.example"}, "REDIS_URL"},
		{"dev provider on a public address", map[string]string{"DEV_IDP_ADDR": "0.0.0.0:18999"}, "DEV_IDP_ADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), nil, func(k string) string { return tc.env[k] }, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v; want an error naming %s", tc.env, err, tc.want)
			}
		})
	}
}

// startRun runs the server with env until the test ends, when it must stop
// cleanly, and returns once the server says it is ready; out is what it
// wrote.
func startRun(t *testing.T, env map[string]string) (out *syncBuffer) {
	t.Helper()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v; want a clean stop", err)
		}
	})
	waitFor(t, "the app to listen", func() bool { return strings.Contains(out.String(), "BFF ready") })
	return out
}

// syncBuffer collects run's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // go run's first build is not part of it: run is called directly
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
