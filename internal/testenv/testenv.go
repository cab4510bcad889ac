// Package testenv gives tests the services `make test` starts (PostgreSQL,
// Redis, a Redis Cluster): a fresh database per test, a unique Redis key
// prefix per test. Tests that need one skip with a clear message when the
// variable is unset (make test always sets it).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Variables set by scripts/test.sh.
const (
	DatabaseEnv     = "SAMAGATE_TEST_DATABASE_URL"
	RedisEnv        = "SAMAGATE_TEST_REDIS_URL"
	RedisClusterEnv = "SAMAGATE_TEST_REDIS_CLUSTER_URL"
)

// Lookup returns env's value, skipping t when it is unset.
func Lookup(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("%s is not set; `make test` starts the service and sets it", env)
	}
	return v
}

// Suffix returns 8 random hex digits for unique names.
func Suffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RedisPrefix is a key prefix no other test uses.
func RedisPrefix() string { return "sgt" + Suffix() + ":" }

// Database creates an empty database on the server of DatabaseEnv, drops it
// when t ends, and returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	base := Lookup(t, DatabaseEnv)
	name := "sgt_" + Suffix()
	if err := admin(base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func admin(base, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}
