using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>A server process that dies under a session: the client is told (08006), not left with a bare reset.</summary>
[Collection(BedCollection.Name)]
public sealed class ServerLossTests(BedFixture bed)
{
    [Fact]
    public async Task BackendKilled_ClientGets08006_AndTheNextReadIsServed()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
        await connection.OpenAsync();
        await using var whoami = new NpgsqlCommand("select pg_backend_pid(), inet_server_port()", connection);
        int backend, port;
        await using (var reader = await whoami.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            (backend, port) = (reader.GetInt32(0), reader.GetInt32(1));
        }
        string victim = bed.Bed.MemberAt(port);

        // SIGKILL to the one backend: it dies without a word (the member then recovers from the crash).
        Assert.Equal(0, (await Commands.RunAsync("kill", ["-KILL", backend.ToString()], TimeSpan.FromSeconds(5))).ExitCode);

        await using var command = new NpgsqlCommand("select 1", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal("08006", error.SqlState);
        Assert.Equal("server closed the connection unexpectedly", error.MessageText);
        Assert.Contains(victim, error.Detail);

        // The member restarts its postmaster's children (crash recovery); reads go on meanwhile.
        var next = await Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
        Assert.True(next.InRecovery);
        await bed.Router.WaitForSteadyAsync();
    }
}
