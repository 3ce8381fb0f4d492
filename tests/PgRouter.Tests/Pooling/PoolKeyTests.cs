using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class PoolKeyTests
{
    private static readonly PoolKey Key = new("demo", "pg1", "app", "alice", 0);

    [Fact]
    public void SameFields_AreTheSameKey()
    {
        var same = new PoolKey("demo", "pg1", "app", "alice", 0);

        Assert.Equal(Key, same);
        Assert.Equal(Key.GetHashCode(), same.GetHashCode());
        Assert.Single(new HashSet<PoolKey> { Key, same });
    }

    [Theory]
    [InlineData("other", "pg1", "app", "alice", 0UL)]
    [InlineData("demo", "pg2", "app", "alice", 0UL)]
    [InlineData("demo", "pg1", "reports", "alice", 0UL)]
    [InlineData("demo", "pg1", "app", "bob", 0UL)]
    [InlineData("demo", "pg1", "app", "alice", 3UL)]
    [InlineData("DEMO", "pg1", "app", "alice", 0UL)]
    [InlineData("demo", "pg1", "App", "alice", 0UL)]
    public void AnyFieldThatDiffers_MakesAnotherKey(string cluster, string member, string database, string user, ulong parameters)
    {
        Assert.NotEqual(Key, new PoolKey(cluster, member, database, user, parameters));
    }

    [Fact]
    public void ToString_NamesClusterMemberDatabaseAndUser()
    {
        Assert.Equal("demo/pg1/app/alice", (Key with { Parameters = 12345 }).ToString());
    }
}
