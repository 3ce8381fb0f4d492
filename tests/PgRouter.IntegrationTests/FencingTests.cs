using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Fencing without waiting for the DCS: the test plays Patroni in etcd (scope "fake") and names a
/// real replica as leader. PgRouter must see for itself that the server is in recovery.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class FencingTests(BedFixture bed)
{
    private const string Prefix = "/service/fake/";

    private static string MemberJson(int port, string role) =>
        $$"""{"conn_url":"postgres://127.0.0.1:{{port}}/postgres","api_url":"http://127.0.0.1:1/patroni","state":"running","role":"{{role}}","version":"3.0.2","xlog_location":1,"timeline":1}""";

    private async Task<string?> PrimaryStatusAsync() => (await bed.Router.ClusterAsync("fake"))?["primaryStatus"]?.GetValue<string>();

    private Task<Landing> ConnectAsync() => Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, database: "fake_app"));

    [Fact]
    public async Task LeaderKeyNamingAReplica_GetsNoWrites_AndWaitingClientsGoToTheNextRealPrimary()
    {
        await bed.Router.WaitForSteadyAsync();
        var (leader, leaderPort) = await bed.Bed.LeaderAsync();
        int replicaPort = bed.Bed.PostgresPort(Bed.Members.First(m => m != leader));
        await using var etcd = new EtcdClient(bed.Bed.EtcdUrl);
        await etcd.DeletePrefixAsync(Prefix);
        try
        {
            await etcd.PutAsync(Prefix + "members/f1", MemberJson(replicaPort, "master"));
            await etcd.PutAsync(Prefix + "leader", "f1");

            // A login may race the first probe: either way the replica must never serve as primary.
            var first = ConnectAsync();
            await Poll.UntilAsync(async () => await PrimaryStatusAsync() == "fenced", TimeSpan.FromSeconds(10), "PgRouter to fence f1");
            int waitsBefore = bed.Router.Log.Count(l => l.Text.Contains("waits for a primary server of cluster fake"));
            var waiting = ConnectAsync();
            await Poll.UntilAsync(() => bed.Router.Log.Count(l => l.Text.Contains("waits for a primary server of cluster fake")) > waitsBefore,
                TimeSpan.FromSeconds(10), "a client to wait for a primary of cluster fake");

            await etcd.PutAsync(Prefix + "members/f2", MemberJson(leaderPort, "master"));
            await etcd.PutAsync(Prefix + "leader", "f2");

            Assert.Equal(new Landing(false, leaderPort, "app"), await waiting);
            try
            {
                Assert.Equal(new Landing(false, leaderPort, "app"), await first);
            }
            catch (PostgresException e)
            {
                Assert.Equal("57P03", e.SqlState);
                Assert.Contains("in recovery", e.MessageText);
            }
        }
        finally
        {
            await etcd.DeletePrefixAsync(Prefix);
        }
    }
}
