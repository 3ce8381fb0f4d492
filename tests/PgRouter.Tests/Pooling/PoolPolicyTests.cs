using PgRouter.Configuration;
using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class PoolPolicyTests
{
    private static readonly TimeSpan ConnectionsConnectTimeout = TimeSpan.FromSeconds(5);

    private static PoolPolicy Policy(PoolingOptions? global = null, params (string Name, PoolOverrides? Pool)[] databases) =>
        new(global ?? new PoolingOptions(), ConnectionsConnectTimeout,
            databases.ToDictionary(d => d.Name, d => new DatabaseOptions { Cluster = "demo", Pool = d.Pool }));

    private static readonly PoolSettings Defaults = new(20, 0, TimeSpan.FromMinutes(10), TimeSpan.FromHours(1), TimeSpan.FromSeconds(30), ConnectionsConnectTimeout);

    [Fact]
    public void WithoutOverrides_TheGlobalSettingsApply_ConnectTimeoutFromConnections()
    {
        var (mode, settings) = Policy().For(null, "app");

        Assert.Equal(PoolMode.Transaction, mode);
        Assert.Equal(Defaults, settings);
    }

    [Fact]
    public void GlobalPooling_IsUsedAsConfigured()
    {
        var global = new PoolingOptions
        {
            Mode = "session", Size = 7, MinIdle = 2, IdleTimeout = TimeSpan.FromMinutes(1), Lifetime = TimeSpan.FromMinutes(2),
            QueueTimeout = TimeSpan.FromSeconds(3), ConnectTimeout = TimeSpan.FromSeconds(4),
        };

        var (mode, settings) = Policy(global).For(null, "app");

        Assert.Equal(PoolMode.Session, mode);
        Assert.Equal(new PoolSettings(7, 2, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4)), settings);
    }

    [Theory]
    [InlineData("transaction", null, null, "Transaction")]
    [InlineData("session", null, null, "Session")]
    [InlineData("transaction", "Session", null, "Session")]
    [InlineData("session", "Transaction", null, "Transaction")]
    [InlineData("transaction", "Transaction", "session", "Session")]
    [InlineData("session", "Session", "transaction", "Transaction")]
    [InlineData("session", null, " Transaction ", "Transaction")]
    [InlineData("session", "Session", "bogus", "Session")]
    [InlineData("bogus", null, null, "Transaction")]
    public void Mode_DatabaseOverListenerOverGlobal(string global, string? listener, string? database, string expected)
    {
        var policy = Policy(new PoolingOptions { Mode = global }, ("app", new PoolOverrides { Mode = database }));

        var (mode, _) = policy.For(listener is null ? null : Enum.Parse<PoolMode>(listener), "app");

        Assert.Equal(Enum.Parse<PoolMode>(expected), mode);
    }

    [Fact]
    public void DatabaseOverrides_ReplaceOnlyWhatTheySet()
    {
        var policy = Policy(null, ("app", new PoolOverrides { Size = 5, QueueTimeout = TimeSpan.FromSeconds(1) }));

        Assert.Equal(Defaults with { Size = 5, QueueTimeout = TimeSpan.FromSeconds(1) }, policy.For(null, "app").Settings);
    }

    [Fact]
    public void DatabaseOverrides_CanSetEverything()
    {
        var own = new PoolOverrides
        {
            Size = 3, MinIdle = 1, IdleTimeout = TimeSpan.FromSeconds(11), Lifetime = TimeSpan.FromSeconds(12),
            QueueTimeout = TimeSpan.FromSeconds(13), ConnectTimeout = TimeSpan.FromSeconds(14),
        };
        var global = new PoolingOptions { ConnectTimeout = TimeSpan.FromSeconds(9) };

        Assert.Equal(new PoolSettings(3, 1, TimeSpan.FromSeconds(11), TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(13), TimeSpan.FromSeconds(14)),
            Policy(global, ("app", own)).For(null, "app").Settings);
    }

    [Fact]
    public void ConnectTimeout_DatabaseOverPoolingOverConnections()
    {
        var global = new PoolingOptions { ConnectTimeout = TimeSpan.FromSeconds(9) };
        var policy = Policy(global, ("app", new PoolOverrides { ConnectTimeout = TimeSpan.FromSeconds(2) }), ("other", new PoolOverrides()));

        Assert.Equal(TimeSpan.FromSeconds(2), policy.For(null, "app").Settings.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), policy.For(null, "other").Settings.ConnectTimeout);
        Assert.Equal(ConnectionsConnectTimeout, Policy().For(null, "app").Settings.ConnectTimeout);
    }

    [Fact]
    public void TheDatabasesOwnEntry_WinsOverTheWildcard_WhichCoversTheRest()
    {
        var policy = Policy(null, ("*", new PoolOverrides { Size = 50, Mode = "session" }), ("app", new PoolOverrides { Size = 5 }), ("plain", null));

        Assert.Equal((PoolMode.Transaction, 5), Summary(policy.For(null, "app")));
        Assert.Equal((PoolMode.Session, 50), Summary(policy.For(null, "reports")));
        Assert.Equal((PoolMode.Session, 50), Summary(policy.For(null, "APP")));
        Assert.Equal((PoolMode.Transaction, 20), Summary(policy.For(null, "plain")));
    }

    private static (PoolMode, int) Summary((PoolMode Mode, PoolSettings Settings) chosen) => (chosen.Mode, chosen.Settings.Size);
}
