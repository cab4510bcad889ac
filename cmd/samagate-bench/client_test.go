package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSources(t *testing.T) {
	cases := []struct {
		spec    string
		want    string
		wantErr bool
	}{
		{spec: "127.0.0.1", want: "127.0.0.1"},
		{spec: "127.0.0.1-127.0.0.3", want: "127.0.0.1 127.0.0.2 127.0.0.3"},
		{spec: "127.0.0.5, 127.0.0.1-127.0.0.2", want: "127.0.0.5 127.0.0.1 127.0.0.2"},
		{spec: "10.0.0.1", wantErr: true},
		{spec: "127.0.0.3-127.0.0.1", wantErr: true},
		{spec: "127.0.0.1-127.0.1.2", wantErr: true},
		{spec: "bogus", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			ips, err := sources(tc.spec)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", ips)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ip := range ips {
				got = append(got, ip.String())
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestTargetLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9001": true, "localhost:9001": true, "[::1]:9001": true,
		"192.168.1.5:9001": false, "example.com:80": false, "nonsense": false,
	} {
		if _, err := newTarget(addr); (err == nil) != ok {
			t.Errorf("newTarget(%q): got err %v, want ok=%v", addr, err, ok)
		}
	}
}
