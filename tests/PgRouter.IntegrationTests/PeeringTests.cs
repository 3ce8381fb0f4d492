using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using PgRouter.IntegrationTests.Support;
using PgRouter.Protocol;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Two PgRouter instances behind one address, as behind a load balancer: a CancelRequest that lands
/// on the instance that does not hold the client is passed on to the one that does.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class PeeringTests(BedFixture bed)
{
    private const int FirstPortBase = 13450, SecondPortBase = 13460;

    [Fact]
    public async Task CancelRequest_ToTheOtherInstance_CancelsTheQuery()
    {
        await using var first = await StartAsync(FirstPortBase, id: 1, peerId: 2, peerPortBase: SecondPortBase);
        await using var second = await StartAsync(SecondPortBase, id: 2, peerId: 1, peerPortBase: FirstPortBase);
        var (_, leaderPort) = await bed.Bed.LeaderAsync();

        await using var client = await RawClient.ConnectAsync(first.ReadWritePort);
        var login = await client.LoginAsync("app", "app", "app");
        var keyData = login.Single(m => m.Type == 'K').Body;
        var key = new CancelKey(BinaryPrimitives.ReadInt32BigEndian(keyData), BinaryPrimitives.ReadInt32BigEndian(keyData.AsSpan(4)));
        Assert.Equal(1, CancelKeys.PeerOf(key.ProcessId));

        await client.SendAsync(FrontendMessages.Query("select pg_sleep(60)"));
        await Poll.UntilAsync(async () => (long)(await Bed.ScalarAsync(Bed.Superuser(leaderPort),
            "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'"))! > 0,
            TimeSpan.FromSeconds(20), "pg_sleep(60) to run on the leader");

        // What a client's cancel does when the load balancer picks the other instance.
        using (var cancel = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await cancel.ConnectAsync("127.0.0.1", second.ReadWritePort);
            await cancel.SendAsync(FrontendMessages.CancelRequest(key));
            await cancel.ReceiveAsync(new byte[1]).WaitAsync(TimeSpan.FromSeconds(10));
        }

        // RowDescription comes first; then the error of the cancelled query.
        RawMessage? answer;
        while ((answer = await client.ReadAsync(TimeSpan.FromSeconds(20))) is { Type: not ('E' or 'Z') })
        {
        }
        Assert.Equal("E[57014 canceling statement due to user request]", answer?.Describe());
        await Poll.UntilAsync(() => Task.FromResult(second.FindLog(l => l.Contains("passed to PgRouter peer 1 at 127.0.0.1:13450")) is not null),
            TimeSpan.FromSeconds(10), "the second instance to log that it passed the cancel on");
    }

    private Task<PgRouterProcess> StartAsync(int portBase, int id, int peerId, int peerPortBase)
    {
        var configuration = PgRouterProcess.Configuration(bed.Bed, portBase);
        configuration["PgRouter"]!["Peering"] = new JsonObject
        {
            ["Id"] = id,
            ["Peers"] = new JsonObject { [peerId.ToString()] = $"127.0.0.1:{peerPortBase}" },
        };
        return PgRouterProcess.StartAsync(bed.RepositoryRoot, configuration, portBase, $"/tmp/pgrouter-itest-peer-{id}");
    }
}
