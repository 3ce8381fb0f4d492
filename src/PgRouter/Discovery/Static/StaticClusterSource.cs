using PgRouter.Configuration;
using PgRouter.Topology;

namespace PgRouter.Discovery.Static;

/// <summary>
/// A cluster without Patroni: a fixed list of hosts. Which one is primary, and how far the others
/// lag, only probes can tell (the host that is not in recovery is the primary).
/// </summary>
internal static class StaticClusterSource
{
    public static DiscoveredCluster Discover(ClusterOptions options)
    {
        var members = options.Hosts.Select(entry =>
        {
            HostPort.TryParse(entry, out string host, out int port);
            return new DiscoveredMember(entry, host, port, Role: null, State: "running", WalPosition: null, Timeline: null,
                NoLoadBalance: false, NoFailover: false, ApiUrl: null);
        });
        return new DiscoveredCluster(0, null, 0, null, [.. members], null, IsStandbyCluster: false, RolesFromProbes: true);
    }
}
