package deploy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

// The pilot's replicated Redis and the backup runner under mocks: private (no host ports), secrets
// secret, the files uploaded are the renderer's, the runner mounts the Redis volumes read-only and
// runs the bundle's command, Prometheus scrapes it. (Healthcheck, Wait, restart, memory and pinned
// images of every container are checked by TestCommittedStacks.)
func TestRedisHAAndBackupInvariants(t *testing.T) {
	config, secretKeys := stackConfig(t, "pilot", true)
	c, err := runProgram(t, "pilot", config, secretKeys, stacks.Deploy)
	if err != nil {
		t.Fatal(err)
	}
	sf, _ := stacks.ReadStackFile(testRoot(t), "pilot")
	cfg, err := stacks.Load("pilot", sf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := stacks.Build(cfg, stacks.Placement{})
	if err != nil {
		t.Fatal(err)
	}
	pw := testSecrets[stacks.SecretRedisPassword]
	files, err := b.HAFiles(pw)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]string{}
	for _, f := range files {
		rendered[f.Name] = string(f.Content)
	}
	secretEnv := func(r Res, key string) bool {
		for _, e := range arr(r.Inputs, "envs") {
			if strings.HasPrefix(unsecret(e).StringValue(), key+"=") {
				return e.IsSecret() || r.Inputs["envs"].IsSecret()
			}
		}
		return false
	}
	for name, conf := range map[string]struct{ path, file string }{
		"redis": {stacks.RedisNodeConfPath, "redis-node.conf"}, "redis-replica": {stacks.RedisNodeConfPath, "redis-replica-node.conf"},
		"sentinel-1": {stacks.SentinelConfPath, "sentinel-1.conf"}, "sentinel-2": {stacks.SentinelConfPath, "sentinel-2.conf"},
		"sentinel-3": {stacks.SentinelConfPath, "sentinel-3.conf"},
	} {
		r, ok := c.get(tContainer, name)
		if !ok {
			t.Errorf("%s not declared", name)
			continue
		}
		if len(arr(r.Inputs, "ports")) != 0 {
			t.Errorf("%s publishes host ports", name)
		}
		u := uploads(r)[conf.path]
		if !u.Secret || u.Content != rendered[conf.file] {
			t.Errorf("%s: %s upload secret=%v, equal to the renderer's: %v", name, conf.path, u.Secret, u.Content == rendered[conf.file])
		}
		if !secretEnv(r, "REDISCLI_AUTH") {
			t.Errorf("%s: REDISCLI_AUTH missing or not secret", name)
		}
		nets := arr(r.Inputs, "networksAdvanced")
		if len(nets) != 1 || !reflect.DeepEqual(strs(arr(obj(nets[0]), "aliases")), []string{name}) {
			t.Errorf("%s: aliases %v", name, nets)
		}
	}
	if s1 := rendered["sentinel-1.conf"]; !strings.Contains(s1, "sentinel monitor isl redis 6379 2") || !strings.Contains(s1, "sentinel auth-pass isl "+pw) {
		t.Errorf("sentinel conf:\n%s", s1)
	}

	bk, ok := c.get(tContainer, "backup")
	if !ok {
		t.Fatal("no backup container")
	}
	if len(arr(bk.Inputs, "ports")) != 0 {
		t.Error("the backup runner publishes host ports")
	}
	if got := strs(arr(bk.Inputs, "command")); !reflect.DeepEqual(got, b.Backup.Args()) {
		t.Errorf("backup command %v, want %v", got, b.Backup.Args())
	}
	if !secretEnv(bk, "REDIS_PASSWORD") || !secretEnv(bk, "REDIS_SENTINEL_PASSWORD") {
		t.Error("backup runner: Redis password env missing or not secret")
	}
	mounts := map[string]bool{} // container path → read-only
	for _, v := range arr(bk.Inputs, "volumes") {
		m := obj(v)
		mounts[str(m, "containerPath")] = str(m, "readOnly") == "true"
	}
	if ro, ok := mounts[stacks.BackupDir]; !ok || ro {
		t.Errorf("backup volume at %s: mounted %v read-only %v", stacks.BackupDir, ok, ro)
	}
	for _, n := range []string{"redis", "redis-replica"} {
		if ro, ok := mounts[stacks.BackupDataRoot+"/"+n]; !ok || !ro {
			t.Errorf("%s data volume: mounted %v read-only %v", n, ok, ro)
		}
	}
	img, ok := c.get(tImage, "backup-image")
	if !ok || str(obj(img.Inputs["build"]), "target") != "backup" {
		t.Errorf("backup image not built from the Dockerfile's backup target")
	}
	prom, _ := c.get(tContainer, "prometheus")
	if pc := uploads(prom)[stacks.PrometheusConfPath].Content; !strings.Contains(pc, "job_name: isl-backup") || !strings.Contains(pc, `"isl-backup:9121"`) {
		t.Errorf("Prometheus does not scrape the backup runner:\n%s", pc)
	}
}

// Staging runs one Redis by default and the replicated one when isl:redisHA says so; the backup
// runner then follows the primary through the Sentinels.
func TestStagingRedisHAOptional(t *testing.T) {
	for _, ha := range []bool{false, true} {
		config, secretKeys := stackConfig(t, "staging", true)
		if ha {
			config["isl:redisHA"] = "true"
		}
		c, err := runProgram(t, "staging", config, secretKeys, stacks.Deploy)
		if err != nil {
			t.Fatal(err)
		}
		_, single := c.get(TypeRedis, "redis")
		_, replicated := c.get(TypeRedisHA, "redis-ha")
		if single == ha || replicated != ha {
			t.Errorf("isl:redisHA=%v: single %v, replicated %v", ha, single, replicated)
		}
		bk, _ := c.get(tContainer, "backup")
		args := strings.Join(strs(arr(bk.Inputs, "command")), " ")
		if want := map[bool]string{false: "--data /redis/redis", true: "--data redis:6379=/redis/redis"}[ha]; !strings.Contains(args, want) {
			t.Errorf("isl:redisHA=%v: backup command %q lacks %q", ha, args, want)
		}
	}
}
