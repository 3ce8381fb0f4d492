using PgRouter.Routing;
using Xunit;

namespace PgRouter.Tests.Routing;

public class DatabaseMapTests
{
    private static readonly DatabaseMap Map = new(new Dictionary<string, DatabaseEntry>
    {
        ["reports"] = new("analytics", "warehouse", RouteTarget.Replica),
        ["*"] = new("demo", null, null),
    });

    [Fact]
    public void TryResolve_NamedEntry_GivesClusterRealNameAndTarget()
    {
        Assert.True(Map.TryResolve("reports", out var route));
        Assert.Equal(new DatabaseRoute("analytics", "warehouse", RouteTarget.Replica), route);
    }

    [Fact]
    public void TryResolve_OtherName_UsesTheWildcardAndKeepsTheName()
    {
        Assert.True(Map.TryResolve("shop", out var route));
        Assert.Equal(new DatabaseRoute("demo", "shop", null), route);
    }

    [Fact]
    public void TryResolve_WithoutWildcard_UnknownNameFails()
    {
        var map = new DatabaseMap(new Dictionary<string, DatabaseEntry> { ["app"] = new("demo", null, null) });

        Assert.False(map.TryResolve("other", out _));
    }
}
