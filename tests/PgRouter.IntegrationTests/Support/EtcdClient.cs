using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace PgRouter.IntegrationTests.Support;

internal sealed record EtcdSeen(long Revision, DateTime ReceivedAt, string Key, string? Value);

/// <summary>
/// The test's own view of etcd through its JSON gateway: to note when an event reached the test
/// (to compare with PgRouter's log), and to write keys as Patroni would for fake clusters.
/// </summary>
internal sealed class EtcdClient(string url) : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly CancellationTokenSource _stop = new();
    private Task _watching = Task.CompletedTask;

    public ConcurrentQueue<EtcdSeen> Seen { get; } = new();

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Starts watching a key; returns once etcd confirmed the watch.</summary>
    public async Task WatchAsync(string key)
    {
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watching = Task.Run(async () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/v3/watch")
            {
                Content = new StringContent($$$"""{"create_request":{"key":"{{{B64(key)}}}"}}"""),
            };
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_stop.Token));
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var receivedAt = DateTime.UtcNow;
                using var document = JsonDocument.Parse(line);
                var result = document.RootElement.GetProperty("result");
                if (result.TryGetProperty("created", out _))
                {
                    created.TrySetResult();
                }
                if (!result.TryGetProperty("events", out var events))
                {
                    continue;
                }
                foreach (var change in events.EnumerateArray())
                {
                    var kv = change.GetProperty("kv");
                    string? value = kv.TryGetProperty("value", out var v) ? Encoding.UTF8.GetString(Convert.FromBase64String(v.GetString()!)) : null;
                    bool deleted = change.TryGetProperty("type", out var type) && type.GetString() == "DELETE";
                    Seen.Enqueue(new EtcdSeen(long.Parse(kv.GetProperty("mod_revision").GetString()!), receivedAt,
                        Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("key").GetString()!)), deleted ? null : value));
                }
            }
        });
        await created.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async Task<long> PutAsync(string key, string value)
    {
        using var response = await Http.PostAsync($"{url}/v3/kv/put", new StringContent($$"""{"key":"{{B64(key)}}","value":"{{B64(value)}}"}"""));
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return long.Parse(document.RootElement.GetProperty("header").GetProperty("revision").GetString()!);
    }

    public async Task DeletePrefixAsync(string prefix)
    {
        byte[] end = Encoding.UTF8.GetBytes(prefix);
        end[^1]++;
        using var response = await Http.PostAsync($"{url}/v3/kv/deleterange",
            new StringContent($$"""{"key":"{{B64(prefix)}}","range_end":"{{Convert.ToBase64String(end)}}"}"""));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The store's current revision.</summary>
    public async Task<long> RevisionAsync()
    {
        using var response = await Http.PostAsync($"{url}/v3/kv/range", new StringContent($$"""{"key":"{{B64("/")}}","limit":"1","keys_only":true}"""));
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return long.Parse(document.RootElement.GetProperty("header").GetProperty("revision").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _watching;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
        }
        _stop.Dispose();
    }
}
