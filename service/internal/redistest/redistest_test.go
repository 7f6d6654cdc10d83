package redistest

import (
	"net"
	"testing"
)

func TestStartRestartStop(t *testing.T) {
	s := Start(t)
	if reply, err := s.Do("SET", "k", "v"); err != nil || reply != "+OK\r\n" {
		t.Fatalf("SET: %q %v", reply, err)
	}
	if reply, err := s.Do("GET", "k"); err != nil || reply != "$1\r\nv\r\n" {
		t.Fatalf("GET: %q %v", reply, err)
	}
	addr := s.Addr
	s.Restart()
	if s.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if reply, err := s.Do("GET", "k"); err != nil || reply != "$-1\r\n" {
		t.Fatalf("after restart GET = %q %v, want an empty server", reply, err)
	}
	s.Stop()
	s.Stop() // idempotent
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatal("server still accepts connections after Stop")
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("Do succeeded against a stopped server")
	}
}

func TestPasswordRequired(t *testing.T) {
	s := Start(t)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(encode("GET", "k")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if got := string(buf[:n]); len(got) < 7 || got[:7] != "-NOAUTH" {
		t.Fatalf("unauthenticated GET = %q, want -NOAUTH", got)
	}
}
