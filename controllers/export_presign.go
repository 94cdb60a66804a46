package controllers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// presignRequest is an S3 request to sign into a URL (AWS Signature Version 4,
// query-string authentication): whoever holds the URL may make exactly this request
// (method, host, path) until it expires, and nothing else.
type presignRequest struct {
	method, scheme, host, path string
	region                     string
	accessKeyID, secretKey     string
	now                        time.Time
	expires                    time.Duration
}

// sigV4Time is the time format of X-Amz-Date.
const sigV4Time = "20060102T150405Z"

// presign returns the signed URL of r. It is a pure function: the same request,
// keys and time give the same URL.
func presign(r presignRequest) string {
	now := r.now.UTC()
	date := now.Format("20060102")
	scope := date + "/" + r.region + "/s3/aws4_request"
	query := map[string]string{
		"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
		"X-Amz-Credential":    r.accessKeyID + "/" + scope,
		"X-Amz-Date":          now.Format(sigV4Time),
		"X-Amz-Expires":       fmt.Sprint(int64(r.expires / time.Second)),
		"X-Amz-SignedHeaders": "host",
	}
	names := make([]string, 0, len(query))
	for k := range query {
		names = append(names, k)
	}
	sort.Strings(names)
	pairs := make([]string, 0, len(names))
	for _, k := range names {
		pairs = append(pairs, s3Escape(k, true)+"="+s3Escape(query[k], true))
	}
	canonicalQuery := strings.Join(pairs, "&")
	path := s3Escape(r.path, false)
	canonicalRequest := strings.Join([]string{r.method, path, canonicalQuery, "host:" + r.host, "", "host", "UNSIGNED-PAYLOAD"}, "\n")
	digest := sha256.Sum256([]byte(canonicalRequest))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", now.Format(sigV4Time), scope, hex.EncodeToString(digest[:])}, "\n")
	key := []byte("AWS4" + r.secretKey)
	for _, part := range []string{date, r.region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	signature := hex.EncodeToString(hmacSHA256(key, toSign))
	return r.scheme + "://" + r.host + path + "?" + canonicalQuery + "&X-Amz-Signature=" + signature
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// s3Escape percent-encodes s the way Signature Version 4 wants it: every byte but
// the unreserved characters (A-Z a-z 0-9 - _ . ~), and '/' too unless it separates
// path segments.
func s3Escape(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !slash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// parseEndpoint splits an S3 endpoint URL into scheme and host, or says what is
// wrong with it.
func parseEndpoint(endpoint string) (scheme, host string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("endpoint %q is not the URL of an S3-compatible service: want scheme://host[:port] "+
			"and nothing after it, for example https://s3.eu-west-1.amazonaws.com", endpoint)
	}
	// Clients leave the default port out of the Host header, which is signed.
	host = strings.TrimSuffix(u.Host, map[string]string{"https": ":443", "http": ":80"}[u.Scheme])
	return u.Scheme, host, nil
}
