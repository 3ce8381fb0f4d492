using System.Buffers;
using System.Text;
using System.Text.Json;

namespace PgRouter.Discovery.Etcd;

/// <summary>
/// Reads and writes the v3 JSON gateway's bodies: keys and values in base64, int64 fields as
/// strings, and default values omitted altogether.
/// </summary>
internal static class EtcdJson
{
    public static string RangeRequest(string prefix) =>
        $$"""{"key":"{{Base64(prefix)}}","range_end":"{{Base64(PrefixEnd(prefix))}}"}""";

    public static string WatchRequest(string prefix, long startRevision) =>
        $$$"""{"create_request":{"key":"{{{Base64(prefix)}}}","range_end":"{{{Base64(PrefixEnd(prefix))}}}","start_revision":"{{{startRevision}}}","progress_notify":true}}""";

    public static string AuthenticateRequest(string user, string password) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = user, ["password"] = password });

    /// <summary>The end of a prefix range: the prefix with its last byte incremented.</summary>
    public static string PrefixEnd(string prefix)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(prefix);
        bytes[^1]++;
        return Encoding.UTF8.GetString(bytes);
    }

    public static EtcdRangeResult ParseRange(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        var root = document.RootElement;
        var kvs = new List<EtcdKeyValue>();
        if (root.TryGetProperty("kvs", out var items))
        {
            foreach (var item in items.EnumerateArray())
            {
                kvs.Add(ParseKeyValue(item));
            }
        }
        return new EtcdRangeResult(HeaderRevision(root), kvs);
    }

    public static EtcdWatchMessage ParseWatchMessage(ReadOnlySequence<byte> line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            string message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var text)
                ? text.GetString() ?? "unknown error"
                : error.ToString();
            return new EtcdWatchMessage(0, false, false, 0, null, [], message);
        }

        var result = root.GetProperty("result");
        var events = new List<EtcdEvent>();
        if (result.TryGetProperty("events", out var items))
        {
            foreach (var item in items.EnumerateArray())
            {
                bool isDelete = item.TryGetProperty("type", out var type) && type.GetString() == "DELETE";
                events.Add(new EtcdEvent(isDelete, ParseKeyValue(item.GetProperty("kv"))));
            }
        }

        return new EtcdWatchMessage(
            HeaderRevision(result),
            Boolean(result, "created"),
            Boolean(result, "canceled"),
            Int64(result, "compact_revision"),
            result.TryGetProperty("cancel_reason", out var reason) ? reason.GetString() : null,
            events,
            null);
    }

    public static string ParseToken(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        return document.RootElement.GetProperty("token").GetString() ?? "";
    }

    /// <summary>The message of a unary call's error body, {"error":…,"message":…,"code":…}.</summary>
    public static string ErrorMessage(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            return root.TryGetProperty("message", out var message) ? message.GetString() ?? "" : root.ToString();
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(json);
        }
    }

    private static EtcdKeyValue ParseKeyValue(JsonElement kv) => new(
        Encoding.UTF8.GetString(Bytes(kv, "key")),
        Bytes(kv, "value"),
        Int64(kv, "mod_revision"),
        Int64(kv, "create_revision"),
        Int64(kv, "lease"));

    private static long HeaderRevision(JsonElement element) =>
        element.TryGetProperty("header", out var header) ? Int64(header, "revision") : 0;

    private static byte[] Bytes(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.GetString() is { } text ? Convert.FromBase64String(text) : [];

    private static bool Boolean(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>int64 fields arrive as strings; accept numbers too.</summary>
    private static long Int64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return 0;
        }
        return value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!) : value.GetInt64();
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
