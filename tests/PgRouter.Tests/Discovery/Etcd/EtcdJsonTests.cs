using System.Buffers;
using System.Text;
using PgRouter.Discovery.Etcd;
using Xunit;

namespace PgRouter.Tests.Discovery.Etcd;

public class EtcdJsonTests
{
    private static EtcdWatchMessage Watch(string json) => EtcdJson.ParseWatchMessage(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void PrefixEnd_IncrementsTheLastByte()
    {
        Assert.Equal("/service/demo0", EtcdJson.PrefixEnd("/service/demo/"));
    }

    [Fact]
    public void RangeRequest_EncodesKeyAndRangeEndInBase64()
    {
        Assert.Equal("""{"key":"L3NlcnZpY2UvZGVtby8=","range_end":"L3NlcnZpY2UvZGVtbzA="}""", EtcdJson.RangeRequest("/service/demo/"));
    }

    [Fact]
    public void WatchRequest_SendsTheRevisionAsAString()
    {
        Assert.Contains("\"start_revision\":\"10\"", EtcdJson.WatchRequest("/service/demo/", 10));
        Assert.Contains("\"progress_notify\":true", EtcdJson.WatchRequest("/service/demo/", 10));
    }

    [Fact]
    public void ParseRange_Int64AsStringsAndOmittedDefaults()
    {
        string json = """
            {"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"9","raft_term":"2"},
             "kvs":[
              {"key":"L3NlcnZpY2UvZGVtby9mYWlsb3Zlcg==","create_revision":"8","mod_revision":"8","version":"1","value":"e30="},
              {"key":"L3NlcnZpY2UvZGVtby9sZWFkZXI=","create_revision":"6","mod_revision":"6","version":"1","value":"cGcx","lease":"2324035532847742985"},
              {"key":"L3NlcnZpY2UvZGVtby9pbml0aWFsaXpl","create_revision":"3","mod_revision":"3","version":"1"}],
             "count":"3"}
            """;

        var range = EtcdJson.ParseRange(Encoding.UTF8.GetBytes(json));

        Assert.Equal(9, range.Revision);
        Assert.Equal(["/service/demo/failover", "/service/demo/leader", "/service/demo/initialize"], range.Kvs.Select(k => k.Key));
        Assert.Equal("{}", Encoding.UTF8.GetString(range.Kvs[0].Value));
        Assert.Equal("pg1", Encoding.UTF8.GetString(range.Kvs[1].Value));
        Assert.Equal(2324035532847742985, range.Kvs[1].Lease);
        Assert.Equal(0, range.Kvs[0].Lease);
        Assert.Empty(range.Kvs[2].Value);
    }

    [Fact]
    public void ParseRange_EmptyPrefix_HasNoKvs()
    {
        var range = EtcdJson.ParseRange("""{"header":{"revision":"1"}}"""u8);

        Assert.Equal(1, range.Revision);
        Assert.Empty(range.Kvs);
    }

    [Fact]
    public void ParseWatchMessage_Created()
    {
        var message = Watch("""{"result":{"header":{"cluster_id":"1","member_id":"2","revision":"9","raft_term":"2"},"created":true}}""");

        Assert.True(message.Created);
        Assert.Equal(9, message.HeaderRevision);
    }

    [Fact]
    public void ParseWatchMessage_PutWithoutTypeField()
    {
        var message = Watch("""{"result":{"header":{"revision":"11"},"events":[{"kv":{"key":"L3NlcnZpY2UvZGVtby9mYWlsb3Zlcg==","create_revision":"8","mod_revision":"11","version":"2","value":"eyJsZWFkZXIiOiJwZzEiLCJtZW1iZXIiOiJwZzIifQ=="},"prev_kv":{"key":"L3NlcnZpY2UvZGVtby9mYWlsb3Zlcg==","value":"e30="}}]}}""");

        var change = Assert.Single(message.Events);
        Assert.False(change.IsDelete);
        Assert.Equal("/service/demo/failover", change.Kv.Key);
        Assert.Equal(11, change.Kv.ModRevision);
        Assert.Equal("""{"leader":"pg1","member":"pg2"}""", Encoding.UTF8.GetString(change.Kv.Value));
    }

    [Fact]
    public void ParseWatchMessage_LeaseExpiryDeletesLeaderAndMemberTogether()
    {
        var message = Watch("""{"result":{"header":{"revision":"12"},"events":[{"type":"DELETE","kv":{"key":"L3NlcnZpY2UvZGVtby9sZWFkZXI=","mod_revision":"12"}},{"type":"DELETE","kv":{"key":"L3NlcnZpY2UvZGVtby9tZW1iZXJzL3BnMQ==","mod_revision":"12"}}]}}""");

        Assert.Equal(2, message.Events.Count);
        Assert.All(message.Events, e => Assert.True(e.IsDelete));
        Assert.Equal(["/service/demo/leader", "/service/demo/members/pg1"], message.Events.Select(e => e.Kv.Key));
    }

    [Fact]
    public void ParseWatchMessage_ProgressNotification_IsOnlyAHeader()
    {
        var message = Watch("""{"result":{"header":{"revision":"40"}}}""");

        // A progress notification: only a header, every event up to its revision delivered.
        Assert.False(message.Created || message.Canceled);
        Assert.Empty(message.Events);
        Assert.Equal(40, message.HeaderRevision);
    }

    [Fact]
    public void ParseWatchMessage_CompactedStartRevision_IsACancel()
    {
        var message = Watch("""{"result":{"header":{"revision":"120"},"canceled":true,"compact_revision":"100","cancel_reason":"mvcc: required revision has been compacted"}}""");

        Assert.True(message.Canceled);
        Assert.Equal(100, message.CompactRevision);
    }

    [Theory]
    [InlineData("""{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}""")]
    [InlineData("""{"error":{"code":14,"message":"etcdserver: no leader","details":[]}}""")]
    public void ParseWatchMessage_StreamError_Etcd34And36Shapes(string json)
    {
        Assert.Equal("etcdserver: no leader", Watch(json).Error);
    }

    [Fact]
    public void ErrorMessage_UnaryErrorBody()
    {
        Assert.Equal("etcdserver: user name is empty", EtcdJson.ErrorMessage("""{"error":"etcdserver: user name is empty","message":"etcdserver: user name is empty","code":3}"""u8));
    }
}
