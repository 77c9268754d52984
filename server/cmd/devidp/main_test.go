package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"production", map[string]string{"APP_ENV": "production"}, nil},
		{"non-loopback", map[string]string{"DEV_IDP_ADDR": "0.0.0.0:0"}, nil},
		{"empty host", map[string]string{"DEV_IDP_ADDR": ":0"}, nil},
		{"bad value", map[string]string{"DEV_IDP_ADDR": "127.0.0.1:0", "DEV_IDP_ACCESS_TOKEN_TTL": "ten"}, nil},
		{"stray argument", map[string]string{"DEV_IDP_ADDR": "127.0.0.1:0"}, []string{"serve"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"devidp"}, tc.args...)
			err := run(t.Context(), args, func(k string) string { return tc.env[k] }, io.Discard)
			if err == nil {
				t.Errorf("run(%q, %v) = nil; want an error", args, tc.env)
			}
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out, stdout := io.Pipe()
	env := map[string]string{"DEV_IDP_ADDR": "127.0.0.1:0"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"devidp"}, func(k string) string { return env[k] }, stdout)
		stdout.Close()
	}()

	lines := bufio.NewScanner(out)
	var issuer string
	for issuer == "" && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), " issuer: "); ok {
			issuer = rest
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // keep the logs flowing
	if issuer == "" || strings.HasSuffix(issuer, ":0") {
		t.Fatalf("banner issuer = %q; want the listener's address", issuer)
	}
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery status = %d; want 200", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run() did not return within 10s of cancel")
	}
}
