using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>A server that dies under a session: the client is told (08006), not left with a bare reset.</summary>
[Collection(BedCollection.Name)]
public sealed class ServerLossTests(BedFixture bed)
{
    [Fact]
    public async Task ReplicaKilled_ClientGets08006_AndNewReadsGoToTheOtherReplica()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
        await connection.OpenAsync();
        string victim = bed.Bed.MemberAt((await Landing.OfAsync(connection)).Port);

        await bed.Bed.RunAsync("kill-member", victim);
        try
        {
            await using var command = new NpgsqlCommand("select 1", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Equal("08006", error.SqlState);
            Assert.Contains(victim, error.Detail);

            var next = await Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
            Assert.True(next.InRecovery);
            Assert.NotEqual(bed.Bed.PostgresPort(victim), next.Port);
        }
        finally
        {
            await bed.Bed.RunAsync("start-member", victim);
        }
        await bed.Router.WaitForSteadyAsync();
    }
}
