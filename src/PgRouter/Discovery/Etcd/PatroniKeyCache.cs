using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PgRouter.Topology;

namespace PgRouter.Discovery.Etcd;

/// <summary>
/// The keys of one Patroni cluster (one scope) as last seen in etcd, kept current by watch events,
/// and turned into a <see cref="DiscoveredCluster"/> after each change. Owned by one watcher loop.
/// </summary>
internal sealed class PatroniKeyCache(string basePath)
{
    private const string MembersDirectory = "members/";

    private readonly Dictionary<string, EtcdKeyValue> _keys = [];

    /// <summary>The revision the cache is consistent at.</summary>
    public long Revision { get; private set; }

    /// <summary>The base path with a trailing slash, e.g. /service/demo/.</summary>
    public string BasePath { get; } = basePath.EndsWith('/') ? basePath : basePath + "/";

    public void Load(EtcdRangeResult range)
    {
        _keys.Clear();
        foreach (var kv in range.Kvs)
        {
            if (RelativeKey(kv.Key) is { } key)
            {
                _keys[key] = kv;
            }
        }
        Revision = range.Revision;
    }

    /// <summary>Applies a watch event; one older than what the cache holds for that key (a replay after resume) is ignored.</summary>
    public bool Apply(EtcdEvent change)
    {
        Revision = Math.Max(Revision, change.Kv.ModRevision);
        if (RelativeKey(change.Kv.Key) is not { } key
            || (_keys.TryGetValue(key, out var known) && known.ModRevision >= change.Kv.ModRevision))
        {
            return false;
        }
        if (change.IsDelete)
        {
            _keys.Remove(key);
        }
        else
        {
            _keys[key] = change.Kv;
        }
        return true;
    }

    public DiscoveredCluster ToDiscovered()
    {
        var members = ImmutableArray.CreateBuilder<DiscoveredMember>();
        foreach (var (key, kv) in _keys)
        {
            if (key.StartsWith(MembersDirectory, StringComparison.Ordinal)
                && PatroniMemberParser.Parse(key[MembersDirectory.Length..], kv.Value) is { } member)
            {
                members.Add(member);
            }
        }
        members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));

        _keys.TryGetValue("leader", out var leaderKey);
        string? leaderName = leaderKey is null ? null : Encoding.UTF8.GetString(leaderKey.Value).Trim();
        if (leaderName?.Length == 0)
        {
            leaderName = null;
        }
        var leader = members.FirstOrDefault(m => m.Name == leaderName);

        return new DiscoveredCluster(
            Revision,
            leaderName,
            leaderName is null ? 0 : leaderKey!.ModRevision,
            StatusOptime() ?? LegacyOptime() ?? leader?.WalPosition,
            members.ToImmutable(),
            Failover(),
            IsStandbyCluster(),
            RolesFromProbes: false);
    }

    private string? RelativeKey(string key) =>
        key.StartsWith(BasePath, StringComparison.Ordinal) ? key[BasePath.Length..] : null;

    private JsonDocument? Json(string key)
    {
        if (!_keys.TryGetValue(key, out var kv) || kv.Value.Length == 0)
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(kv.Value);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private long? StatusOptime()
    {
        using var status = Json("status");
        return status?.RootElement is { ValueKind: JsonValueKind.Object } root
               && root.TryGetProperty("optime", out var optime) && optime.TryGetInt64(out long value)
            ? value
            : null;
    }

    /// <summary>optime/leader, written only by Patroni older than 2.1: a bare number.</summary>
    private long? LegacyOptime() =>
        _keys.TryGetValue("optime/leader", out var kv)
        && long.TryParse(Encoding.UTF8.GetString(kv.Value).Trim('"', ' '), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)
            ? value
            : null;

    /// <summary>The failover key holds {} when nothing is pending.</summary>
    private FailoverRequest? Failover()
    {
        using var failover = Json("failover");
        if (failover?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }
        string? leader = Text(root, "leader"), candidate = Text(root, "member");
        DateTimeOffset? scheduledAt = Text(root, "scheduled_at") is { } at
                                      && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : null;
        return leader is null && candidate is null ? null : new FailoverRequest(leader, candidate, scheduledAt);
    }

    private bool IsStandbyCluster()
    {
        using var config = Json("config");
        return config?.RootElement is { ValueKind: JsonValueKind.Object } root
               && root.TryGetProperty("standby_cluster", out var standby)
               && standby.ValueKind == JsonValueKind.Object;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
