using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>Clients land on the right member: writes on the primary, reads on replicas, by listener, database or option.</summary>
[Collection(BedCollection.Name)]
public sealed class RoutingTests(BedFixture bed)
{
    private PgRouterProcess Router => bed.Router;

    [Fact]
    public async Task ReadWriteListener_ReachesTheLeader()
    {
        await Router.WaitForSteadyAsync();
        var (_, leaderPort) = await bed.Bed.LeaderAsync();

        var (inRecovery, port, database) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort));

        Assert.False(inRecovery);
        Assert.Equal(leaderPort, port);
        Assert.Equal("app", database);
    }

    [Fact]
    public async Task ReadOnlyListener_SpreadsOverBothReplicas()
    {
        await Router.WaitForSteadyAsync();
        var (_, leaderPort) = await bed.Bed.LeaderAsync();

        var seen = new HashSet<int>();
        for (int i = 0; i < 6; i++)
        {
            var (inRecovery, port, _) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadOnlyPort));
            Assert.True(inRecovery);
            seen.Add(port);
        }

        Assert.Equal(2, seen.Count);
        Assert.DoesNotContain(leaderPort, seen);
    }

    [Fact]
    public async Task StartupOption_ChoosesTheTargetOnTheReadWritePortAndIsStripped()
    {
        await Router.WaitForSteadyAsync();

        var (inRecovery, _, _) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, options: "-c pgrouter.target=replica -c search_path=public"));

        Assert.True(inRecovery);
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(Router.ReadWritePort, options: "-c pgrouter.target=replica -c search_path=public"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("show search_path", connection);
        Assert.Equal("public", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task DatabaseMap_SendsAnAliasToTheRealDatabaseOnAReplica()
    {
        await Router.WaitForSteadyAsync();

        var (inRecovery, _, database) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, database: "app_ro"));

        Assert.True(inRecovery);
        Assert.Equal("app", database);
    }

    [Fact]
    public async Task PreferReplicaAndAnyListeners_ReadFromReplicasWhenTheyQualify()
    {
        await Router.WaitForSteadyAsync();

        Assert.True((await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.PreferReplicaPort))).InRecovery);

        var anyPorts = new HashSet<int>();
        for (int i = 0; i < 9; i++)
        {
            anyPorts.Add((await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.AnyPort))).Port);
        }
        Assert.Equal(3, anyPorts.Count);
    }

    [Fact]
    public async Task UnknownPgRouterSetting_IsRefusedWith42704()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, options: "-c pgrouter.tagret=replica")));

        Assert.Equal("42704", error.SqlState);
        Assert.Contains("pgrouter.tagret", error.MessageText);
    }

    [Fact]
    public async Task InvalidTarget_IsRefusedWith22023()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, options: "-c pgrouter.target=leader")));

        Assert.Equal("22023", error.SqlState);
    }

    [Fact]
    public async Task WrongPassword_IsTheServersOwnAuthenticationError()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, password: "wrong")));

        Assert.Equal("28P01", error.SqlState);
    }

    [Fact]
    public async Task StaticCluster_PrimaryAndReplicasFoundByProbes()
    {
        await Router.WaitForSteadyAsync("static");
        var (_, leaderPort) = await bed.Bed.LeaderAsync();

        var (inRecovery, port, database) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadWritePort, database: "static_app"));
        var (readInRecovery, _, _) = await Landing.OfAsync(PgRouterProcess.ConnectionString(Router.ReadOnlyPort, database: "static_app"));

        Assert.False(inRecovery);
        Assert.Equal(leaderPort, port);
        Assert.Equal("app", database);
        Assert.True(readInRecovery);
    }
}
