using System.Net;
using PgRouter.Admin;
using PgRouter.Authentication;
using PgRouter.Configuration;
using PgRouter.Connections;
using PgRouter.Discovery.Etcd;
using PgRouter.Monitoring;
using PgRouter.Pooling;
using PgRouter.Routing;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Hosting;

/// <summary>Wires PgRouter's parts together from validated options.</summary>
internal static class PgRouterServices
{
    public static IServiceCollection AddPgRouter(this IServiceCollection services, PgRouterOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(options.Connections);
        services.AddSingleton(TimeProvider.System);

        AddTopology(services, options);
        AddSecurity(services, options);

        services.AddSingleton(new DatabaseMap(options.Databases.ToDictionary(
            d => d.Key,
            d => new DatabaseEntry(d.Value.Cluster, d.Value.Database, d.Value.Target is { } t && RouteTargets.TryParse(t, out var target) ? target : null))));
        services.AddSingleton<MemberLoad>();
        services.AddSingleton(new CancelRegistry(options.Peering.Id));
        services.AddSingleton(sp => new CancelForwarder(
            sp.GetRequiredService<CancelRegistry>(), options.Peering, options.Connections.ConnectTimeout, sp.GetRequiredService<ILogger<CancelForwarder>>()));
        services.AddSingleton<ClientHandshake>();
        services.AddSingleton<ServerSelector>();
        services.AddSingleton<ServerFactory>();
        services.AddSingleton<PoolRegistry>();
        services.AddSingleton<PoolSelector>();
        services.AddSingleton<ParsedStatements>();
        services.AddSingleton(new PoolPolicy(options.Pooling, options.Connections.ConnectTimeout, options.Databases));
        services.AddSingleton<ActiveSessions>();
        services.AddSingleton<ClusterControl>();
        services.AddSingleton<ClientSessionHandler>();

        services.AddSingleton<IReadOnlyList<(IPEndPoint, ListenerPolicy)>>(sp => options.Listeners.Select(l =>
        {
            RouteTargets.TryParse(l.Target, out var target);
            IReplicaBalancer balancer = l.Balance == "least-connections"
                ? new LeastConnectionsBalancer(sp.GetRequiredService<MemberLoad>())
                : new RoundRobinBalancer();
            AuthMethod? method = AuthMethods.TryParse(l.AuthMethod, out var parsed) ? parsed : null;
            PoolMode? poolMode = PoolModes.TryParse(l.PoolMode, out var pm) ? pm : null;
            var policy = new ListenerPolicy(l.Name, target, new ReplicaPolicy(l.FallbackToPrimary, balancer), l.EffectiveClientTls(options.Tls), method, poolMode);
            return (new IPEndPoint(IPAddress.Parse(l.Address), l.Port), policy);
        }).ToList());
        services.AddHostedService<ListenerService>();
        services.AddHostedService<DiscoveryService>();
        services.AddHostedService<PoolMaintenanceService>();
        return services;
    }

    private static void AddTopology(IServiceCollection services, PgRouterOptions options)
    {
        services.AddSingleton<TopologyChangeLog>();
        services.AddSingleton(sp => new TopologyStore(
            options.Clusters.Select(c => KeyValuePair.Create(c.Key, c.Value.MaxLagBytes)),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<TopologyChangeLog>()));
        services.AddSingleton(sp => new MemberMonitor(
            sp.GetRequiredService<TopologyStore>(), options.Monitor, options.Connections.ServerKeepalive,
            sp.GetRequiredService<ServerTlsConnector>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IMemberEvidence>(sp => sp.GetRequiredService<MemberMonitor>());
        if (options.Etcd.Endpoints.Count > 0)
        {
            services.AddSingleton(sp => new EtcdGatewayClient(options.Etcd, sp.GetRequiredService<ILogger<EtcdGatewayClient>>()));
        }
    }

    private static void AddSecurity(IServiceCollection services, PgRouterOptions options)
    {
        var auth = options.Auth;
        services.AddSingleton(auth);
        services.AddSingleton(options.Tls);
        services.AddSingleton(new ServerTlsConnector(options.ServerTls));
        services.AddSingleton(sp =>
        {
            var store = new CertificateStore(options.Tls, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CertificateStore>>());
            if (store.IsConfigured)
            {
                store.Load();
            }
            return store;
        });
        services.AddSingleton(sp =>
        {
            UsersFile? usersFile = null;
            if (auth.UsersFile is not null)
            {
                usersFile = new UsersFile(auth.UsersFile, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<UsersFile>>());
                usersFile.Load();
            }
            var authQuery = auth.AuthQuery is null ? null : new AuthQuery(auth.AuthQuery, sp.GetRequiredService<TopologyStore>(), options.Connections,
                sp.GetRequiredService<ServerTlsConnector>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AuthQuery>>());
            return new SecretStore(usersFile, authQuery);
        });
        services.AddSingleton(sp => new LoginRateLimiter(auth.MaxFailures, auth.FailureWindow, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            AuthMethods.TryParse(auth.Method, out var global);
            var byDatabase = options.Databases
                .Where(d => AuthMethods.TryParse(d.Value.AuthMethod, out _))
                .ToDictionary(d => d.Key, d => { AuthMethods.TryParse(d.Value.AuthMethod, out var m); return m; });
            return new AuthPolicy(global, byDatabase);
        });
        services.AddSingleton<ClientAuthenticator>();
    }
}
