using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>Stopping PgRouter tells each client why, as PostgreSQL does on a fast shutdown, instead of a bare reset.</summary>
[Collection(BedCollection.Name)]
public sealed class ShutdownTests(BedFixture bed)
{
    [Fact]
    public async Task Sigterm_EndsSessionsWith57P01AndExitsCleanly()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var second = await PgRouterProcess.StartAsync(bed.RepositoryRoot, bed.Bed, 13350, "/tmp/pgrouter-itest-router-2");
        await using var client = await RawClient.ConnectAsync(second.ReadWritePort);
        Assert.Equal('Z', (await client.LoginAsync("app", "app", "app"))[^1].Type);

        await second.SignalAsync("TERM");

        var farewell = await client.ReadAsync(TimeSpan.FromSeconds(10));
        Assert.Equal('E', farewell!.Type);
        Assert.Equal("57P01", farewell.SqlState);
        Assert.True(await client.ClosedAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }
}
