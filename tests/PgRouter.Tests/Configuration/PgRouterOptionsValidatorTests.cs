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
        Auth = new AuthOptions { AuthQuery = new AuthQueryOptions { User = "pgrouter_auth" } },
    };

    [Fact]
    public void Validate_DemoLikeConfiguration_HasNoProblems()
    {
        Assert.Empty(PgRouterOptionsValidator.Validate(Valid()));
    }

    [Fact]
    public void Validate_Peering_NamesWhatToFix()
    {
        var options = Valid();
        options.Peering = new PeeringOptions { Id = 0, Peers = new() { ["2"] = "10.0.0.2:6432" } };
        Assert.Contains(PgRouterOptionsValidator.Validate(options), p => p.StartsWith("PgRouter:Peering:Peers: set Peering:Id"));

        options.Peering = new PeeringOptions { Id = 300 };
        Assert.Contains(PgRouterOptionsValidator.Validate(options), p => p.StartsWith("PgRouter:Peering:Id: must be between 1 and 255"));

        options.Peering = new PeeringOptions { Id = 1, Peers = new() { ["1"] = "10.0.0.1:6432", ["2"] = "10.0.0.2:x" } };
        var problems = PgRouterOptionsValidator.Validate(options);
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Peering:Peers:1: '1' is not another instance's id"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:Peering:Peers:2: '10.0.0.2:x' is not host:port"));

        options.Peering = new PeeringOptions { Id = 1, Peers = new() { ["2"] = "10.0.0.2:6432" } };
        Assert.Empty(PgRouterOptionsValidator.Validate(options));
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

    [Fact]
    public void Validate_SecurityThatDoesNotFit_SaysWhatToFix()
    {
        var options = Valid();
        options.Auth = new AuthOptions { Method = "scram-sha-256" };
        options.Listeners[0].Address = "0.0.0.0";
        options.Listeners[0].AuthMethod = "trust";
        options.Listeners[1].AuthMethod = "password";
        options.Databases["certs"] = new DatabaseOptions { Cluster = "demo", AuthMethod = "cert" };
        options.ServerTls = new ServerTlsOptions { Mode = "verify-full" };

        var problems = PgRouterOptionsValidator.Validate(options);

        Assert.Contains(problems, p => p.Contains("trust lets anybody in: only a loopback listener may use it (listener rw is on 0.0.0.0)"));
        Assert.Contains(problems, p => p.Contains("the password method sends passwords in the clear: listener ro must require TLS"));
        Assert.Contains(problems, p => p == "PgRouter:Databases:certs:AuthMethod: the cert method needs Tls:ClientCaFile");
        Assert.Contains(problems, p => p.Contains("password on listener ro needs a source of secrets: Auth:UsersFile or Auth:AuthQuery"));
        Assert.Contains(problems, p => p.StartsWith("PgRouter:ServerTls:CaFile: verify-full needs the CA bundle"));
    }

    [Fact]
    public void Validate_TlsListenerWithoutCertificate_IsAProblem()
    {
        var options = Valid();
        options.Listeners[0].ClientTls = "require";

        Assert.Contains(PgRouterOptionsValidator.Validate(options), p => p == "PgRouter:Listeners:0:ClientTls: TLS needs Tls:CertificateFile and Tls:KeyFile");
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
