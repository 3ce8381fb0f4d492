using System.Globalization;
using System.Text.Json;
using PgRouter.Topology;

namespace PgRouter.Discovery.Etcd;

/// <summary>
/// Reads the JSON Patroni writes under members/&lt;name&gt;. Host and port come from conn_url (its
/// path is Patroni's own database and is ignored), or from conn_kwargs when there is no URL.
/// </summary>
internal static class PatroniMemberParser
{
    public static DiscoveredMember? Parse(string name, ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !TryEndpoint(root, out string host, out int port))
            {
                return null;
            }

            bool noLoadBalance = false, noFailover = false;
            if (root.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Object)
            {
                noLoadBalance = IsTrue(tags, "noloadbalance");
                noFailover = IsTrue(tags, "nofailover");
            }

            return new DiscoveredMember(
                name,
                host,
                port,
                String(root, "role"),
                String(root, "state") ?? "unknown",
                Int64(root, "xlog_location"),
                (int?)Int64(root, "timeline"),
                noLoadBalance,
                noFailover,
                String(root, "api_url"));
        }
    }

    private static bool TryEndpoint(JsonElement root, out string host, out int port)
    {
        host = "";
        port = 5432;
        if (String(root, "conn_url") is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Host.Length > 0)
        {
            // Uri keeps the brackets of an IPv6 host in Host; IdnHost drops them.
            host = uri.IdnHost;
            port = uri.Port > 0 ? uri.Port : 5432;
            return true;
        }
        if (root.TryGetProperty("conn_kwargs", out var kwargs) && kwargs.ValueKind == JsonValueKind.Object && String(kwargs, "host") is { Length: > 0 } kwHost)
        {
            host = kwHost;
            port = (int?)Int64(kwargs, "port") ?? 5432;
            return true;
        }
        return false;
    }

    private static bool IsTrue(JsonElement tags, string name) =>
        tags.TryGetProperty(name, out var value)
        && (value.ValueKind == JsonValueKind.True || (value.ValueKind == JsonValueKind.String && value.GetString() is "true" or "True"));

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Int64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out long number) => number,
            JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long number) => number,
            _ => null,
        };
    }
}
