using PgRouter.Configuration;
using Xunit;

namespace PgRouter.Tests.Pooling;

/// <summary>PgRouterOptionsValidator on the Pooling section, listeners' PoolMode and the databases' Pool overrides.</summary>
public class PoolingOptionsValidatorTests
{
    private const string Timeouts = "IdleTimeout, Lifetime, QueueTimeout and ConnectTimeout must be positive";

    private static PgRouterOptions Valid() => new()
    {
        Listeners = [new ListenerOptions { Name = "rw", Port = 6432 }, new ListenerOptions { Name = "ro", Port = 6433, Target = "replica" }],
        Databases = new() { ["*"] = new DatabaseOptions { Cluster = "demo" } },
        Clusters = new() { ["demo"] = new ClusterOptions() },
        Etcd = new EtcdOptions { Endpoints = ["http://127.0.0.1:2379"] },
        Auth = new AuthOptions { AuthQuery = new AuthQueryOptions { User = "pgrouter_auth" } },
    };

    private static IReadOnlyList<string> Validate(Action<PgRouterOptions> change)
    {
        var options = Valid();
        change(options);
        return PgRouterOptionsValidator.Validate(options);
    }

    private static IReadOnlyList<string> ValidateOverride(PoolOverrides pool, PoolingOptions? global = null) => Validate(o =>
    {
        o.Pooling = global ?? o.Pooling;
        o.Databases["app"] = new DatabaseOptions { Cluster = "demo", Pool = pool };
    });

    [Fact]
    public void PoolingAndOverridesInRange_HaveNoProblems()
    {
        Assert.Empty(ValidateOverride(
            new PoolOverrides
            {
                Mode = "session", Size = 5, MinIdle = 5, IdleTimeout = TimeSpan.FromSeconds(1), Lifetime = TimeSpan.FromSeconds(1),
                QueueTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(1),
            },
            new PoolingOptions { Mode = "session", Size = 1, MinIdle = 1, ConnectTimeout = TimeSpan.FromSeconds(1) }));
        Assert.Empty(Validate(o => o.Listeners[0].PoolMode = "session"));
    }

    [Theory]
    [InlineData("statement")]
    [InlineData("")]
    public void Pooling_Mode_MustBeTransactionOrSession(string mode)
    {
        Assert.Equal([$"PgRouter:Pooling:Mode: '{mode}' is not one of transaction, session"], Validate(o => o.Pooling.Mode = mode));
    }

    [Fact]
    public void Pooling_Size_MustBeAtLeastOne()
    {
        Assert.Equal(["PgRouter:Pooling:Size: must be at least 1"], Validate(o => o.Pooling.Size = 0));
        Assert.Contains("PgRouter:Pooling:Size: must be at least 1", Validate(o => o.Pooling.Size = -1));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(21)]
    public void Pooling_MinIdle_MustBeBetweenZeroAndSize(int minIdle)
    {
        Assert.Equal(["PgRouter:Pooling:MinIdle: must be between 0 and Pooling:Size"], Validate(o => o.Pooling.MinIdle = minIdle));
    }

    [Theory]
    [InlineData("IdleTimeout", 0)]
    [InlineData("Lifetime", -1)]
    [InlineData("QueueTimeout", 0)]
    [InlineData("ConnectTimeout", 0)]
    [InlineData("ConnectTimeout", -5)]
    public void Pooling_Timeouts_MustBePositive(string key, int seconds)
    {
        var value = TimeSpan.FromSeconds(seconds);

        var problems = Validate(o =>
        {
            switch (key)
            {
                case "IdleTimeout": o.Pooling.IdleTimeout = value; break;
                case "Lifetime": o.Pooling.Lifetime = value; break;
                case "QueueTimeout": o.Pooling.QueueTimeout = value; break;
                default: o.Pooling.ConnectTimeout = value; break;
            }
        });

        Assert.Equal([$"PgRouter:Pooling: {Timeouts}"], problems);
        Assert.Contains(key, problems[0]);
    }

    [Theory]
    [InlineData("statement")]
    [InlineData("pooled")]
    public void Listener_PoolMode_MustBeTransactionOrSession(string mode)
    {
        Assert.Equal([$"PgRouter:Listeners:1:PoolMode: '{mode}' is not one of transaction, session"], Validate(o => o.Listeners[1].PoolMode = mode));
    }

    [Fact]
    public void Override_Mode_MustBeTransactionOrSession()
    {
        Assert.Equal(["PgRouter:Databases:app:Pool:Mode: 'statement' is not one of transaction, session"],
            ValidateOverride(new PoolOverrides { Mode = "statement" }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Override_Size_MustBeAtLeastOne(int size)
    {
        Assert.Contains("PgRouter:Databases:app:Pool:Size: must be at least 1", ValidateOverride(new PoolOverrides { Size = size }));
    }

    [Theory]
    [InlineData(-1, null, 0)]
    [InlineData(6, 5, 0)]
    [InlineData(21, null, 0)]
    [InlineData(null, 5, 10)]
    public void Override_MinIdle_MustBeBetweenZeroAndThePoolSize_WhereverEachComesFrom(int? minIdle, int? size, int globalMinIdle)
    {
        var problems = ValidateOverride(new PoolOverrides { MinIdle = minIdle, Size = size }, new PoolingOptions { MinIdle = globalMinIdle });

        Assert.Equal(["PgRouter:Databases:app:Pool:MinIdle: must be between 0 and the pool size"], problems);
    }

    [Fact]
    public void Override_Size_IsCheckedAgainstItsOwnMinIdle_NotTheGlobalSize()
    {
        Assert.Empty(ValidateOverride(new PoolOverrides { Size = 50, MinIdle = 30 }));
    }

    [Theory]
    [InlineData("IdleTimeout", 0)]
    [InlineData("Lifetime", -1)]
    [InlineData("QueueTimeout", 0)]
    [InlineData("ConnectTimeout", 0)]
    public void Override_Timeouts_MustBePositive(string key, int seconds)
    {
        var value = TimeSpan.FromSeconds(seconds);
        var pool = key switch
        {
            "IdleTimeout" => new PoolOverrides { IdleTimeout = value },
            "Lifetime" => new PoolOverrides { Lifetime = value },
            "QueueTimeout" => new PoolOverrides { QueueTimeout = value },
            _ => new PoolOverrides { ConnectTimeout = value },
        };

        var problems = ValidateOverride(pool);

        Assert.Equal([$"PgRouter:Databases:app:Pool: {Timeouts}"], problems);
        Assert.Contains(key, problems[0]);
    }

    [Fact]
    public void Override_ProblemsNameTheirDatabase()
    {
        var problems = Validate(o =>
        {
            o.Databases["a"] = new DatabaseOptions { Cluster = "demo", Pool = new PoolOverrides { Size = 0 } };
            o.Databases["b"] = new DatabaseOptions { Cluster = "demo", Pool = new PoolOverrides { Mode = "x" } };
            o.Databases["c"] = new DatabaseOptions { Cluster = "demo", Pool = new PoolOverrides() };
        });

        Assert.Equal(["PgRouter:Databases:a:Pool:Size: must be at least 1", "PgRouter:Databases:b:Pool:Mode: 'x' is not one of transaction, session"], problems);
    }
}
