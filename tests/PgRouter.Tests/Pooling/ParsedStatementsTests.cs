using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class ParsedStatementsTests
{
    [Fact]
    public void Add_ThenTryGetShape_GivesTheShape()
    {
        var parsed = new ParsedStatements();
        Assert.False(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_a", out _));

        parsed.Add("demo", "app", "alice", 7, "pgr_a", 1234);

        Assert.True(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_a", out int shape));
        Assert.Equal(1234, shape);
    }

    [Fact]
    public void Add_Again_ReplacesTheShape()
    {
        var parsed = new ParsedStatements();
        parsed.Add("demo", "app", "alice", 7, "pgr_a", 1234);

        parsed.Add("demo", "app", "alice", 7, "pgr_a", StatementShape.NoRows);

        Assert.True(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_a", out int shape));
        Assert.Equal(StatementShape.NoRows, shape);
    }

    [Theory]
    [InlineData("other", "app", "alice", 7UL, "pgr_a")]
    [InlineData("demo", "other", "alice", 7UL, "pgr_a")]
    [InlineData("demo", "app", "bob", 7UL, "pgr_a")]
    [InlineData("demo", "app", "alice", 9UL, "pgr_a")]
    [InlineData("demo", "app", "alice", 7UL, "pgr_b")]
    [InlineData("demo", "APP", "alice", 7UL, "pgr_a")]
    public void Statements_AreKnownPerClusterDatabaseUserSettingsAndName(string cluster, string database, string user, ulong settings, string name)
    {
        var parsed = new ParsedStatements();
        parsed.Add("demo", "app", "alice", 7, "pgr_a", 1234);

        Assert.False(parsed.TryGetShape(cluster, database, user, settings, name, out _));
    }

    [Fact]
    public void PastItsCapacity_TheSetStartsAgain()
    {
        var parsed = new ParsedStatements();
        for (int i = 0; i < 100_000; i++)
        {
            parsed.Add("demo", "app", "alice", 7, $"pgr_{i}", i);
        }
        Assert.True(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_0", out _));
        Assert.True(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_99999", out _));

        parsed.Add("demo", "app", "alice", 7, "pgr_new", 42);

        Assert.False(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_0", out _));
        Assert.False(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_99999", out _));
        Assert.True(parsed.TryGetShape("demo", "app", "alice", 7, "pgr_new", out int shape));
        Assert.Equal(42, shape);
    }
}
