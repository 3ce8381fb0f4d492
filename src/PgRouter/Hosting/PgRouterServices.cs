using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgRouter.Configuration;
using PgRouter.Connections;
using PgRouter.Discovery.Etcd;
using PgRouter.Monitoring;
using PgRouter.Routing;
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
        services.AddSingleton<TopologyChangeLog>();
        services.AddSingleton(sp => new TopologyStore(
            options.Clusters.Select(c => KeyValuePair.Create(c.Key, c.Value.MaxLagBytes)),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<TopologyChangeLog>()));
        services.AddSingleton(sp => new MemberMonitor(
            sp.GetRequiredService<TopologyStore>(), options.Monitor, options.Connections.ServerKeepalive, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IMemberEvidence>(sp => sp.GetRequiredService<MemberMonitor>());
        if (options.Etcd.Endpoints.Count > 0)
        {
            services.AddSingleton(sp => new EtcdGatewayClient(options.Etcd, sp.GetRequiredService<ILogger<EtcdGatewayClient>>()));
        }

        services.AddSingleton(new DatabaseMap(options.Databases.ToDictionary(
            d => d.Key,
            d => new DatabaseEntry(d.Value.Cluster, d.Value.Database, d.Value.Target is { } t && RouteTargets.TryParse(t, out var target) ? target : null))));
        services.AddSingleton<MemberLoad>();
        services.AddSingleton<CancelRegistry>();
        services.AddSingleton(sp => new CancelForwarder(
            sp.GetRequiredService<CancelRegistry>(), options.Connections.ConnectTimeout, sp.GetRequiredService<ILogger<CancelForwarder>>()));
        services.AddSingleton<ClientSessionHandler>();

        services.AddSingleton<IReadOnlyList<(IPEndPoint, ListenerPolicy)>>(sp => options.Listeners.Select(l =>
        {
            RouteTargets.TryParse(l.Target, out var target);
            IReplicaBalancer balancer = l.Balance == "least-connections"
                ? new LeastConnectionsBalancer(sp.GetRequiredService<MemberLoad>())
                : new RoundRobinBalancer();
            return (new IPEndPoint(IPAddress.Parse(l.Address), l.Port), new ListenerPolicy(l.Name, target, new ReplicaPolicy(l.FallbackToPrimary, balancer)));
        }).ToList());
        services.AddHostedService<ListenerService>();
        services.AddHostedService<DiscoveryService>();
        return services;
    }
}
