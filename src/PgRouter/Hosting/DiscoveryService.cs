using PgRouter.Configuration;
using PgRouter.Discovery.Etcd;
using PgRouter.Discovery.Static;
using PgRouter.Monitoring;
using PgRouter.Topology;

namespace PgRouter.Hosting;

/// <summary>Runs, for every cluster, its discovery (etcd watch or static list) and its member probes.</summary>
internal sealed class DiscoveryService(
    PgRouterOptions options,
    TopologyStore topology,
    MemberMonitor monitor,
    ILoggerFactory loggers,
    TimeProvider time,
    EtcdGatewayClient? etcd = null) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tasks = new List<Task>();
        foreach (var (name, cluster) in options.Clusters)
        {
            if (cluster.Source == "static")
            {
                topology.PublishDiscovery(name, StaticClusterSource.Discover(cluster));
            }
            else
            {
                string basePath = $"{(cluster.Namespace ?? options.Etcd.Namespace).TrimEnd('/')}/{cluster.Scope ?? name}/";
                var watcher = new EtcdClusterWatcher(name, basePath, etcd!,
                    topology, options.Etcd.MaxBackoff, time, loggers.CreateLogger<EtcdClusterWatcher>());
                tasks.Add(Task.Run(() => watcher.RunAsync(stoppingToken), stoppingToken));
            }
            tasks.Add(Task.Run(() => monitor.RunAsync(name, stoppingToken), stoppingToken));
        }
        return Task.WhenAll(tasks);
    }
}
