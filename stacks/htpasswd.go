package stacks

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"strings"
)

// RenderHtpasswd renders an nginx auth_basic_user_file line for user with an Apache MD5 ($apr1$)
// hash, which nginx verifies itself on every platform (no dependency on the image's libc crypt).
//
// The salt is derived from the password (HMAC-SHA256), so the same secret renders the same file and
// an unchanged `pulumi up` does not replace nginx; a different password gives a different salt.
// $apr1$ is a fast hash, so the password must be a long random secret (at least 16 characters).
func RenderHtpasswd(user, password string) ([]byte, error) {
	if user == "" || strings.ContainsAny(user, ":\n\r") {
		return nil, fmt.Errorf("render htpasswd: bad user %q", user)
	}
	if len(password) < 16 || strings.ContainsAny(password, "\n\r") {
		return nil, fmt.Errorf("render htpasswd: the password must be one line of at least 16 characters (a generated secret)")
	}
	m := hmac.New(sha256.New, []byte("isl-htpasswd-salt"))
	m.Write([]byte(password))
	salt := apr1Encode(m.Sum(nil))[:8]
	return []byte(user + ":" + APR1(password, salt) + "\n"), nil
}

const apr1Alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func apr1Encode(b []byte) string {
	var sb strings.Builder
	for i := 0; i+2 < len(b); i += 3 {
		v := uint(b[i])<<16 | uint(b[i+1])<<8 | uint(b[i+2])
		for j := 0; j < 4; j++ {
			sb.WriteByte(apr1Alphabet[v&0x3f])
			v >>= 6
		}
	}
	return sb.String()
}

// APR1 is the Apache variant of MD5-crypt (htpasswd -m, openssl passwd -apr1), salt ≤ 8 characters.
func APR1(password, salt string) string {
	const magic = "$apr1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)
	alt := md5.Sum([]byte(password + salt + password))
	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic + salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(alt[:min(n, 16)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 == 1 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)
	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 == 1 {
			c.Write(pw)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write([]byte(salt))
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 == 1 {
			c.Write(final)
		} else {
			c.Write(pw)
		}
		final = c.Sum(nil)
	}
	// The MD5-crypt byte order, 3 bytes → 4 characters, the last byte alone.
	order := [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}}
	var sb strings.Builder
	for _, o := range order {
		v := uint(final[o[0]])<<16 | uint(final[o[1]])<<8 | uint(final[o[2]])
		for j := 0; j < 4; j++ {
			sb.WriteByte(apr1Alphabet[v&0x3f])
			v >>= 6
		}
	}
	v := uint(final[11])
	for j := 0; j < 2; j++ {
		sb.WriteByte(apr1Alphabet[v&0x3f])
		v >>= 6
	}
	return magic + salt + "$" + sb.String()
}
