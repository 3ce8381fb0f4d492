using System.Text;
using PgRouter.Discovery.Etcd;
using Xunit;

namespace PgRouter.Tests.Discovery.Etcd;

public class PatroniKeyCacheTests
{
    private const string Base = "/service/demo/";

    private static EtcdKeyValue Kv(string key, string value, long modRevision) =>
        new(Base + key, Encoding.UTF8.GetBytes(value), modRevision, modRevision, 0);

    private static string MemberJson(int port, string role, long wal) =>
        $$"""{"conn_url":"postgres://127.0.0.1:{{port}}/postgres","api_url":"http://127.0.0.1:80{{port % 100}}/patroni","state":"running","role":"{{role}}","version":"3.0.2","xlog_location":{{wal}},"timeline":1}""";

    private static PatroniKeyCache Loaded()
    {
        var cache = new PatroniKeyCache("/service/demo");
        cache.Load(new EtcdRangeResult(20,
        [
            Kv("config", """{"ttl":10,"loop_wait":2,"retry_timeout":4,"failsafe_mode":true}""", 4),
            Kv("initialize", "7710814758487543632", 3),
            Kv("leader", "pg1", 6),
            Kv("failover", "{}", 8),
            Kv("status", """{"optime":67109536,"slots":{"pg2":67109536}}""", 19),
            Kv("members/pg1", MemberJson(5432, "master", 67109536), 18),
            Kv("members/pg2", MemberJson(5433, "replica", 67000000), 17),
            new EtcdKeyValue("/service/other/leader", Encoding.UTF8.GetBytes("x1"), 5, 5, 0),
        ]));
        return cache;
    }

    [Fact]
    public void Load_BuildsTheClusterFromPatroniKeys()
    {
        var cluster = Loaded().ToDiscovered();

        Assert.Equal(20, cluster.Revision);
        Assert.Equal("pg1", cluster.LeaderName);
        Assert.Equal(6, cluster.LeaderRevision);
        Assert.Equal(67109536, cluster.LeaderLsn);
        Assert.Equal(["pg1", "pg2"], cluster.Members.Select(m => m.Name));
        Assert.Null(cluster.Failover);
        Assert.False(cluster.IsStandbyCluster);
    }

    [Fact]
    public void Apply_FailoverPut_IsARequest()
    {
        var cache = Loaded();

        Assert.True(cache.Apply(new EtcdEvent(false, Kv("failover", """{"leader":"pg1","member":"pg2"}""", 21))));

        Assert.Equal(new PgRouter.Topology.FailoverRequest("pg1", "pg2", null), cache.ToDiscovered().Failover);
        Assert.Equal(21, cache.Revision);
    }

    [Fact]
    public void Apply_ScheduledFailover_CarriesItsTime()
    {
        var cache = Loaded();
        cache.Apply(new EtcdEvent(false, Kv("failover", """{"leader":"pg1","member":"pg2","scheduled_at":"2026-11-22T03:00:00+00:00"}""", 21)));

        Assert.Equal(DateTimeOffset.Parse("2026-11-22T03:00:00Z"), cache.ToDiscovered().Failover!.ScheduledAt);
    }

    [Fact]
    public void Apply_LeaderAndMemberDeletedTogether_LeaveNoLeader()
    {
        var cache = Loaded();

        cache.Apply(new EtcdEvent(true, new EtcdKeyValue(Base + "leader", [], 22, 0, 0)));
        cache.Apply(new EtcdEvent(true, new EtcdKeyValue(Base + "members/pg1", [], 22, 0, 0)));

        var cluster = cache.ToDiscovered();
        Assert.Null(cluster.LeaderName);
        Assert.Equal(0, cluster.LeaderRevision);
        Assert.Equal(["pg2"], cluster.Members.Select(m => m.Name));
    }

    [Fact]
    public void Apply_NewLeader_ChangesTheLeaderRevision()
    {
        var cache = Loaded();
        cache.Apply(new EtcdEvent(true, new EtcdKeyValue(Base + "leader", [], 22, 0, 0)));
        cache.Apply(new EtcdEvent(false, Kv("leader", "pg2", 23)));

        var cluster = cache.ToDiscovered();
        Assert.Equal("pg2", cluster.LeaderName);
        Assert.Equal(23, cluster.LeaderRevision);
    }

    [Fact]
    public void Apply_OlderThanWhatIsCached_IsIgnored()
    {
        var cache = Loaded();

        Assert.False(cache.Apply(new EtcdEvent(false, Kv("leader", "pg2", 6))));
        Assert.Equal("pg1", cache.ToDiscovered().LeaderName);
    }

    [Fact]
    public void Apply_KeysOfOtherScopes_AreIgnored()
    {
        var cache = Loaded();

        Assert.False(cache.Apply(new EtcdEvent(false, new EtcdKeyValue("/service/demo2/leader", Encoding.UTF8.GetBytes("zz"), 30, 30, 0))));
        Assert.Equal("pg1", cache.ToDiscovered().LeaderName);
    }

    [Fact]
    public void ToDiscovered_StandbyClusterConfig_IsRecognised()
    {
        var cache = Loaded();
        cache.Apply(new EtcdEvent(false, Kv("config", """{"ttl":30,"standby_cluster":{"host":"10.0.1.1","port":5432}}""", 25)));

        Assert.True(cache.ToDiscovered().IsStandbyCluster);
    }

    [Fact]
    public void ToDiscovered_WithoutStatus_UsesLegacyOptimeThenTheLeadersPosition()
    {
        var cache = new PatroniKeyCache(Base);
        cache.Load(new EtcdRangeResult(5, [Kv("leader", "pg1", 2), Kv("members/pg1", MemberJson(5432, "master", 777), 3)]));
        Assert.Equal(777, cache.ToDiscovered().LeaderLsn);

        cache.Apply(new EtcdEvent(false, Kv("optime/leader", "888", 6)));
        Assert.Equal(888, cache.ToDiscovered().LeaderLsn);
    }
}
