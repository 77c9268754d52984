package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
