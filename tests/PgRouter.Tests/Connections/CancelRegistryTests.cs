using PgRouter.Connections;
using PgRouter.Protocol;
using Xunit;

namespace PgRouter.Tests.Connections;

public class CancelRegistryTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    public void Keys_CarryThePeerId_AndStayPositive(int peer)
    {
        var registry = new CancelRegistry(peer);
        for (int i = 0; i < 1000; i++)
        {
            var key = registry.Register("client").ClientKey;
            Assert.True(key.ProcessId > 0);
            Assert.Equal(peer, CancelKeys.PeerOf(key.ProcessId));
        }
    }

    [Fact]
    public void Find_NeedsTheWholeKey_AndForgetsUnregisteredClients()
    {
        var registry = new CancelRegistry(7);
        var entry = registry.Register("client");
        var key = entry.ClientKey;

        Assert.Same(entry, registry.Find(key));
        Assert.Null(registry.Find(key with { SecretKey = key.SecretKey ^ 1 }));
        registry.Unregister(entry);
        Assert.Null(registry.Find(key));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(255, int.MaxValue)]
    [InlineData(42, 12345)]
    public void PeerOf_ReadsBackTheId(int peer, int serial)
    {
        Assert.Equal(peer, CancelKeys.PeerOf(CancelKeys.ProcessId(peer, serial)));
        Assert.True(CancelKeys.ProcessId(peer, serial) > 0);
    }
}
