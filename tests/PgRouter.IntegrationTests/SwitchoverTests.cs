using System.Text.RegularExpressions;
using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace PgRouter.IntegrationTests;

/// <summary>When Patroni moves the leader, PgRouter follows as soon as etcd tells it.</summary>
[Collection(BedCollection.Name)]
public sealed partial class SwitchoverTests(BedFixture bed, ITestOutputHelper output)
{
    [Fact]
    public async Task PatronictlSwitchover_NextConnectionReachesTheNewLeader_LoggedWithin100msOfTheEtcdEvent()
    {
        await bed.Router.WaitForSteadyAsync();
        var (oldLeader, _) = await bed.Bed.LeaderAsync();
        await using var etcd = new EtcdClient(bed.Bed.EtcdUrl);
        await etcd.WatchAsync($"{Bed.Namespace}/{Bed.Scope}/leader");

        await bed.Bed.RunAsync("switchover");

        var (newLeader, newLeaderPort) = await bed.Bed.LeaderAsync();
        Assert.NotEqual(oldLeader, newLeader);
        await using (var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select inet_server_port()", connection);
            Assert.Equal(newLeaderPort, await command.ExecuteScalarAsync());
        }

        // The leader key was put for the new leader; PgRouter logs the change with the event's revision.
        var put = etcd.Seen.Last(e => e.Value == newLeader);
        var logged = await Poll.ForAsync(() => Task.FromResult(bed.Router.FindLog(line =>
            LeaderChanged().Match(line) is { Success: true } m && m.Groups["to"].Value == newLeader && long.Parse(m.Groups["revision"].Value) == put.Revision)),
            TimeSpan.FromSeconds(5), $"PgRouter to log the leader change at revision {put.Revision}");
        double delayMs = (logged.Time - put.ReceivedAt).TotalMilliseconds;
        output.WriteLine($"etcd revision {put.Revision}: the test saw it at {put.ReceivedAt:HH:mm:ss.fff}, PgRouter logged it {delayMs:0} ms later");
        Assert.True(Math.Abs(delayMs) < 100, $"PgRouter logged the change {delayMs:0} ms after the test saw the etcd event: {logged.Text}");
    }

    [GeneratedRegex(@"leader changed \S+ -> (?<to>\S+) \(etcd revision (?<revision>\d+)\)")]
    private static partial Regex LeaderChanged();
}
