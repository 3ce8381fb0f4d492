using PgRouter.Configuration;
using Xunit;

namespace PgRouter.Tests.Configuration;

public class PgRouterOptionsValidatorTests
{
    private static PgRouterOptions Valid() => new()
    {
        Listeners = [new ListenerOptions { Name = "rw", Port = 6432 }, new ListenerOptions { Name = "ro", Port = 6433, Target = "replica" }],
        Databases = new() { ["*"] = new DatabaseOptions { Cluster = "demo" } },
        Clusters = new() { ["demo"] = new ClusterOptions() },
        Etcd = new EtcdOptions { Endpoints = ["http://127.0.0.1:2379"] },
    };

    [Fact]
    public void Validate_DemoLikeConfiguration_HasNoProblems()
    {
        Assert.Empty(PgRouterOptionsValidator.Validate(Valid()));
    }

    [Fact]
    public void Validate_EveryProblemNamesItsKeyAndTheFix()
    {
        var options = Valid();
        options.Listeners[1].Target = "readonly";
        options.Listeners[1].Port = 6432;
        options.Databases["app"] = new DatabaseOptions { Cluster = "nope" };
        options.Etcd.Endpoints = ["127.0.0.1:2379"];
        options.Clusters["legacy"] = new ClusterOptions { Source = "static" };

        var problems = PgRouterOptionsValidator.Validate(options);

        Assert.Contains(problems, p => p.StartsWith("PgRouter:Listeners:1:Target: 'readonly' is not one of primary, replica"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Listeners:1:Port: 127.0.0.1:6432 is used by another listener"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Databases:app:Cluster: 'nope' is not a configured cluster"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Etcd:Endpoints: '127.0.0.1:2379' is not an http(s) URL"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Clusters:legacy:Hosts: list the members"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Monitor:User: static cluster 'legacy' needs a monitor login"));
    }

    [Fact]
    public void Validate_Empty_AsksForListenersClustersAndDatabases()
    {
        var problems = PgRouterOptionsValidator.Validate(new PgRouterOptions());

        Assert.Contains(problems, p => p.StartsWith("PgRouter:Listeners:"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Clusters:"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Databases:"));
    }

    [Theory]
    [InlineData("db1:5433", "db1", 5433)]
    [InlineData("db1", "db1", 5432)]
    [InlineData("[::1]:6000", "::1", 6000)]
    public void HostPort_TryParse(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out string parsedHost, out int parsedPort));
        Assert.Equal((host, port), (parsedHost, parsedPort));
    }
}
