package session

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func newTestCache(maxEntries int) *recordCache {
	c := newRecordCache(CacheOptions{MaxEntries: maxEntries})
	c.setOn(true)
	return c
}

func testEntry(key string, expires time.Time) *cacheEntry {
	return &cacheEntry{key: key, rec: &Record{User: scalekit.User{ID: "usr_" + key}}, expires: expires}
}

func TestCacheFillRacesAnInvalidation(t *testing.T) {
	now := time.Now()
	later := now.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		during func(c *recordCache)
		want   bool // the read's entry is kept
	}{
		{"nothing happens", func(*recordCache) {}, true},
		{"its key is invalidated", func(c *recordCache) { c.invalidate("k") }, false},
		{"another key is invalidated", func(c *recordCache) { c.invalidate("other") }, true},
		{"the cache goes off", func(c *recordCache) { c.setOn(false) }, false},
		{"the cache goes off and on again", func(c *recordCache) { c.setOn(false); c.setOn(true) }, false},
		{"Redis flushes", func(c *recordCache) { c.flush() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(10)
			ticket := c.begin("k")
			tc.during(c)
			c.finish(ticket, testEntry("k", later))
			if got := c.get("k", now) != nil; got != tc.want {
				t.Errorf("entry cached = %t; want %t", got, tc.want)
			}
			if len(c.fills) != 0 {
				t.Errorf("fills in flight after finish = %d; want 0", len(c.fills))
			}
		})
	}
}

func TestCacheServesNoEntryPastItsExpiry(t *testing.T) {
	c := newTestCache(10)
	now := time.Now()
	c.finish(c.begin("k"), testEntry("k", now.Add(time.Second)))
	if c.get("k", now.Add(999*time.Millisecond)) == nil {
		t.Error("get before the expiry = nil; want the entry")
	}
	if c.get("k", now.Add(time.Second)) != nil {
		t.Error("get at the expiry = an entry; want nil")
	}
}

func TestCacheCap(t *testing.T) {
	c := newTestCache(3)
	later := time.Now().Add(time.Minute)
	for _, k := range []string{"a", "b", "c", "d", "e", "e"} {
		c.finish(c.begin(k), testEntry(k, later))
		if len(c.entries) > 3 {
			t.Fatalf("entries = %d; want at most 3", len(c.entries))
		}
	}
	if c.entries["e"] == nil {
		t.Error("the newest entry was evicted; want an older one evicted for it")
	}
}

func TestCacheAppliesInvalidationMessages(t *testing.T) {
	const prefix = "bff:session:"
	later := time.Now().Add(time.Minute)
	fill := func() *recordCache {
		c := newTestCache(10)
		for _, k := range []string{"a", "b", "c"} {
			c.finish(c.begin(k), testEntry(k, later))
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		msg     any
		want    []string // keys left
		wantErr bool
	}{
		{"keys", []any{[]byte("message"), []byte(invalidationChannel), []any{[]byte(prefix + "a"), []byte(prefix + "c"), []byte(prefix + "never-cached")}}, []string{"b"}, false},
		{"flush", []any{[]byte("message"), []byte(invalidationChannel), nil}, nil, false},
		{"pong", []any{[]byte("pong"), []byte("")}, []string{"a", "b", "c"}, false},
		{"garbage", []byte("hello"), nil, true},
		{"unknown kind", []any{[]byte("subscribe"), []byte(invalidationChannel), int64(1)}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fill()
			err := c.apply(tc.msg, prefix)
			if (err != nil) != tc.wantErr {
				t.Fatalf("apply(%v) error = %v; want error %t", tc.msg, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			var left []string
			for _, k := range []string{"a", "b", "c"} {
				if c.entries[k] != nil {
					left = append(left, k)
				}
			}
			if len(left) != len(tc.want) || (len(left) > 0 && left[0] != tc.want[0]) {
				t.Errorf("keys left = %v; want %v", left, tc.want)
			}
		})
	}
}

func TestCloneSharesNothing(t *testing.T) {
	orig := &Record{
		Roles: []string{"member"}, Permissions: []string{"read"},
		Organizations: []Organization{{ID: "org_1", Name: "One"}},
		PendingLogins: map[string]PendingLogin{"s": {Nonce: "n"}},
	}
	c := orig.clone()
	c.Roles[0], c.Permissions[0], c.Organizations[0].Name = "admin", "write", "Two"
	c.PendingLogins["t"] = PendingLogin{}
	if orig.Roles[0] != "member" || orig.Permissions[0] != "read" || orig.Organizations[0].Name != "One" || len(orig.PendingLogins) != 1 {
		t.Errorf("original after changing its clone = %+v; want it unchanged", orig)
	}
}

func TestStubDecodesToTheDeadlineAndAnEmptyRecord(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	rev := newRev()
	got, values, err := codec{}.Decode(encodeStub(rev, deadline))
	if err != nil {
		t.Fatalf("Decode(stub) error = %v", err)
	}
	rec := values[recordKey].(*Record)
	if !got.Equal(deadline) || rec.SignedIn() || rec.rev != rev {
		t.Errorf("Decode(stub) = %v, %+v; want %v and an empty record at revision %s", got, rec, deadline, rev)
	}
	for _, bad := range []string{rev + "\n", rev + "\n@", rev + "\n@x"} {
		if _, _, err := (codec{}).Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) error = nil; want corrupt", bad)
		}
	}
}

// BenchmarkCacheEntryBytes reports the heap one cached session takes
// ("bytes/entry"), for the README and DefaultCacheEntries: a session shaped
// like one of the built-in provider's (an admin of two organizations, its
// tokens the provider's sizes: access 977 bytes, refresh 43, ID 1006),
// decoded from its stored form as a load does.
func BenchmarkCacheEntryBytes(b *testing.B) {
	now := time.Now()
	rec := &Record{
		PublicID: PublicID("token"),
		User: scalekit.User{ID: "usr_alice", Email: "alice@acme.test", EmailVerified: true, Name: "Alice Admin",
			GivenName: "Alice", FamilyName: "Admin", SessionID: "ses_0123456789abcdef"},
		OrganizationID: "org_acme", OrganizationName: "Acme Inc", Roles: []string{"admin"},
		Permissions:    []string{"members:manage", "org:read", "org:write"},
		UserExternalID: "crm-user-0007", OrganizationExternalID: "crm-acme-0042",
		Organizations: []Organization{{ID: "org_acme", Name: "Acme Inc"}, {ID: "org_globex", Name: "Globex Corp"}},
		AccessToken:   scalekit.Token(strings.Repeat("a", 977)), RefreshToken: scalekit.Token(strings.Repeat("r", 43)),
		IDToken: scalekit.Token(strings.Repeat("i", 1006)), AccessTokenExpiresAt: now.Add(5 * time.Minute),
		CreatedAt: now, LastSeenAt: now, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0", IP: "203.0.113.7",
	}
	stored, err := codec{}.Encode(now.Add(24*time.Hour), map[string]any{recordKey: rec})
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	var perEntry float64
	for b.Loop() {
		c := newTestCache(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			deadline, values, err := codec{}.Decode(stored)
			if err != nil {
				b.Fatal(err)
			}
			loaded := values[recordKey].(*Record)
			key := storeKey(strconv.Itoa(i))
			c.finish(c.begin(key), &cacheEntry{key: key, rec: loaded.clone(), stub: encodeStub(loaded.rev, deadline), expires: now.Add(time.Hour)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perEntry, "bytes/entry")
	b.ReportMetric(float64(len(stored)), "bytes-stored")
}
