using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// A server process that dies (SIGKILL: no word to anyone, and its member restarts every backend):
/// in transaction mode only a transaction running on it fails, with 08006 as PostgreSQL's clients
/// know it; a relayed session is told the same and ends.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class ServerLossTests(BedFixture bed)
{
    [Fact]
    public async Task PooledServerKilledBetweenTransactions_TheClientNeverNotices()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
        await connection.OpenAsync();
        var (backend, port) = await WhoServesAsync(connection);

        await KillAsync(backend);

        // The next transactions run on other server connections (another replica while this one recovers).
        for (int i = 0; i < 5; i++)
        {
            await using var command = new NpgsqlCommand("select 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }
        Assert.NotEqual(backend, (await WhoServesAsync(connection)).Backend);
        await RecoveredAsync(port);
    }

    [Fact]
    public async Task PooledServerKilledInsideATransaction_ThatTransactionFails08006_TheNextOneRuns()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
        await connection.OpenAsync();
        await using (var begin = new NpgsqlCommand("begin", connection))
        {
            await begin.ExecuteNonQueryAsync();
        }
        var (backend, port) = await WhoServesAsync(connection);
        string victim = bed.Bed.MemberAt(port);

        await KillAsync(backend);

        await using (var inside = new NpgsqlCommand("select 1", connection))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => inside.ExecuteScalarAsync());
            Assert.Equal("08006", error.SqlState);
            Assert.Contains(victim, error.Detail);
        }
        await using (var next = new NpgsqlCommand("select 2", connection))
        {
            Assert.Equal(2, await next.ExecuteScalarAsync());
        }
        await RecoveredAsync(port);
    }

    [Fact]
    public async Task RelayedServerKilled_ClientGets08006_AndTheNextConnectionIsServed()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort, database: "app_relay"));
        await connection.OpenAsync();
        var (backend, port) = await WhoServesAsync(connection);
        string victim = bed.Bed.MemberAt(port);

        await KillAsync(backend);

        await using var command = new NpgsqlCommand("select 1", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal("08006", error.SqlState);
        Assert.Equal("server closed the connection unexpectedly", error.MessageText);
        Assert.Contains(victim, error.Detail);

        // The member restarts its postmaster's children (crash recovery); reads go on meanwhile.
        var next = await Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort, database: "app_relay"));
        Assert.True(next.InRecovery);
        await RecoveredAsync(port);
    }

    private static async Task<(int Backend, int Port)> WhoServesAsync(NpgsqlConnection connection)
    {
        await using var whoami = new NpgsqlCommand("select pg_backend_pid(), inet_server_port()", connection);
        await using var reader = await whoami.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>The killed member serves again and PgRouter routes to it: the next test starts on a whole cluster.</summary>
    private async Task RecoveredAsync(int port)
    {
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return Equals(await Bed.ScalarAsync(Bed.Superuser(port), "select 1"), 1);
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"the member on port {port} to finish crash recovery");
        await bed.Router.WaitForSteadyAsync();
    }

    private static async Task KillAsync(int backend) =>
        Assert.Equal(0, (await Commands.RunAsync("kill", ["-KILL", backend.ToString()], TimeSpan.FromSeconds(5))).ExitCode);
}
