package http

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// trustedProxies decides whose X-Real-IP names the client: only the configured proxies' (IPs,
// CIDRs, or host names such as the Docker alias "nginx", re-resolved in the background every
// refreshEvery so that a replaced proxy container is trusted within seconds). From any other peer
// the header is ignored, so a client talking to a replica directly cannot pick a fresh address per
// request to escape the per-client limits.
type trustedProxies struct {
	prefixes []netip.Prefix
	names    []string

	mu        sync.Mutex
	resolved  []netip.Addr
	expires   time.Time
	resolving bool
}

const refreshEvery = 5 * time.Second

func newTrustedProxies(list []string) *trustedProxies {
	t := &trustedProxies{}
	for _, p := range list {
		if a, err := netip.ParseAddr(p); err == nil {
			t.prefixes = append(t.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else if pf, err := netip.ParsePrefix(p); err == nil {
			t.prefixes = append(t.prefixes, pf.Masked())
		} else {
			t.names = append(t.names, p)
		}
	}
	if len(t.names) > 0 {
		t.resolve()
	}
	return t
}

// resolve looks the names up (bounded) and stores the addresses.
func (t *trustedProxies) resolve() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var addrs []netip.Addr
	for _, n := range t.names {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", n)
		if err != nil {
			continue // not resolvable now (proxy not started yet): untrusted until it is
		}
		for _, ip := range ips {
			addrs = append(addrs, ip.Unmap())
		}
	}
	t.mu.Lock()
	t.resolved, t.expires, t.resolving = addrs, time.Now().Add(refreshEvery), false
	t.mu.Unlock()
}

// trusts reports whether the peer is a configured proxy.
func (t *trustedProxies) trusts(peer netip.Addr) bool {
	if t == nil || !peer.IsValid() {
		return false
	}
	peer = peer.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(peer) {
			return true
		}
	}
	if len(t.names) == 0 {
		return false
	}
	t.mu.Lock()
	addrs := t.resolved
	if time.Now().After(t.expires) && !t.resolving {
		t.resolving = true
		go t.resolve()
	}
	t.mu.Unlock()
	for _, a := range addrs {
		if a == peer {
			return true
		}
	}
	return false
}

// clientIP is the peer address, or the X-Real-IP header when the peer is a trusted proxy and the
// header is a valid address.
func (t *trustedProxies) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err == nil && t.trusts(peer) {
		if ip, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
			return ip.Unmap().String()
		}
	}
	return host
}
