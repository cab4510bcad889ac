package files

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures S3-compatible object storage.
type S3Config struct {
	// Endpoint is the service's URL ("https://s3.eu-west-1.amazonaws.com",
	// "http://minio:9000"); its scheme picks TLS.
	Endpoint string
	// Bucket holds the objects, keyed by file id. It is created at start
	// when missing.
	Bucket string
	// AccessKey and SecretKey are the credentials; Region is optional
	// (default "us-east-1").
	AccessKey, SecretKey, Region string
	// PathStyle addresses the bucket in the path rather than the host name
	// (MinIO and most self-hosted services need it). Default false: the
	// client's automatic choice.
	PathStyle bool
}

// S3 stores objects in S3-compatible storage through presigned URLs, so the
// bytes never pass through samagate. A presigned PUT cannot bound the body
// size by itself: the signature covers the Content-Type header, and the
// files service checks size and type with Stat before a message may carry
// the file (Service.Attach), deleting an upload that differs.
type S3 struct {
	c      *minio.Client
	bucket string
	tr     *http.Transport
}

var _ Storage = (*S3)(nil)

// NewS3 connects and makes sure the bucket exists.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("s3: endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	tr, err := minio.DefaultTransport(u.Scheme == "https")
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	opts := &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: u.Scheme == "https", Region: cfg.Region, Transport: tr}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, opts)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &S3{c: c, bucket: cfg.Bucket, tr: tr}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("s3: check bucket: %w", err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			s.Close()
			return nil, fmt.Errorf("s3: make bucket: %w", err)
		}
	}
	return s, nil
}

// Close drops idle connections.
func (s *S3) Close() { s.tr.CloseIdleConnections() }

// UploadURL implements Storage: a presigned PUT whose signature covers
// Content-Type.
func (s *S3) UploadURL(ctx context.Context, key, contentType string, _ int64, ttl time.Duration) (string, error) {
	u, err := s.c.PresignHeader(ctx, http.MethodPut, s.bucket, key, ttl, nil,
		http.Header{"Content-Type": {contentType}})
	if err != nil {
		return "", fmt.Errorf("presign upload: %w", err)
	}
	return u.String(), nil
}

// DownloadURL implements Storage: a presigned GET.
func (s *S3) DownloadURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := s.c.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("presign download: %w", err)
	}
	return u.String(), nil
}

// Stat implements Storage.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" {
			return Object{}, ErrNoObject
		}
		return Object{}, fmt.Errorf("stat object: %w", err)
	}
	return Object{Size: info.Size, ContentType: info.ContentType}, nil
}

// Delete implements Storage.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return fmt.Errorf("delete object: %w", err)
	}
	return nil
}
