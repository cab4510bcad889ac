package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id parameters. The zero value means OWASP's
// recommendation: 19 MiB of memory, 2 passes, 1 lane.
type HashParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

func (p HashParams) withDefaults() HashParams {
	if p.MemoryKiB == 0 {
		p.MemoryKiB = 19 * 1024
	}
	if p.Time == 0 {
		p.Time = 2
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	return p
}

// hashPassword returns a PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func hashPassword(pw string, p HashParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// verifyPassword checks pw against a PHC string in constant time.
func verifyPassword(pw, phc string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: unknown hash format")
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// hash hashes a new secret (sign-up, password change, recovery code)
// through the hashing queue, behind every login.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	release, err := s.hashing.acquire(ctx, classNew)
	if err != nil {
		return "", err
	}
	defer release()
	s.hashes.Add(1)
	return hashPassword(pw, s.cfg.Hash)
}

// verify checks pw against a stored hash through the hashing queue, ahead
// of new hashes.
func (s *Service) verify(ctx context.Context, pw, phc string) (bool, error) {
	release, err := s.hashing.acquire(ctx, classLogin)
	if err != nil {
		return false, err
	}
	defer release()
	s.hashes.Add(1)
	return verifyPassword(pw, phc)
}

// Hashes is how many argon2id hashes this service ran since it started (a
// metric; attack tests read it to count the guesses that got through).
func (s *Service) Hashes() int64 { return s.hashes.Load() }
