using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using PgRouter.Configuration;

namespace PgRouter.Discovery.Etcd;

/// <summary>
/// etcd's v3 JSON gateway over plain HTTP, as Patroni speaks it: prefix ranges and streamed watches,
/// several endpoints tried in turn, and token authentication when a user is configured.
/// </summary>
internal sealed partial class EtcdGatewayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly EtcdOptions _options;
    private readonly ILogger _logger;
    private int _current;
    private string? _token;

    public EtcdGatewayClient(EtcdOptions options, ILogger<EtcdGatewayClient> logger)
    {
        _options = options;
        _logger = logger;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.RequestTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    options.Keepalive.ApplyTo(socket);
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestVersion = HttpVersion.Version11 };
    }

    public string CurrentEndpoint => _options.Endpoints[Volatile.Read(ref _current) % _options.Endpoints.Count];

    /// <summary>Every key under the prefix, and the revision they are consistent at. Tries each endpoint once.</summary>
    public async Task<EtcdRangeResult> RangePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        for (int attempt = 0; attempt < _options.Endpoints.Count; attempt++)
        {
            string endpoint = CurrentEndpoint;
            try
            {
                byte[] body = await PostAsync(endpoint, "/v3/kv/range", EtcdJson.RangeRequest(prefix), cancellationToken).ConfigureAwait(false);
                return EtcdJson.ParseRange(body);
            }
            catch (Exception e) when (e is HttpRequestException or EtcdException or IOException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                string why = e is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
                failures.Add($"{endpoint}: {why}");
                RotateEndpoint();
            }
        }
        throw new EtcdException(string.Join("; ", failures));
    }

    /// <summary>
    /// Watches the prefix from a revision on the current endpoint. Ends when etcd ends the stream; throws
    /// <see cref="EtcdException"/> when it fails or stays silent longer than the idle timeout.
    /// </summary>
    public async IAsyncEnumerable<EtcdWatchMessage> WatchPrefixAsync(string prefix, long startRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string endpoint = CurrentEndpoint;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_options.RequestTimeout);
        using var response = await SendAsync(endpoint, "/v3/watch", EtcdJson.WatchRequest(prefix, startRevision), HttpCompletionOption.ResponseHeadersRead, idle.Token).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
        var reader = PipeReader.Create(stream);
        var messages = new List<EtcdWatchMessage>();
        while (true)
        {
            idle.CancelAfter(_options.WatchIdleTimeout);
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EtcdException($"{endpoint}: the watch delivered nothing for {_options.WatchIdleTimeout.TotalSeconds:0} s");
            }

            var buffer = result.Buffer;
            messages.Clear();
            while (buffer.PositionOf((byte)'\n') is SequencePosition newline)
            {
                var line = buffer.Slice(0, newline);
                if (line.Length > 0)
                {
                    messages.Add(EtcdJson.ParseWatchMessage(line));
                }
                buffer = buffer.Slice(buffer.GetPosition(1, newline));
            }
            if (result.IsCompleted && buffer.Length > 0)
            {
                // A failed stream ends with an error object and no newline.
                messages.Add(EtcdJson.ParseWatchMessage(buffer));
                buffer = buffer.Slice(buffer.End);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);

            foreach (var message in messages)
            {
                yield return message;
            }
            if (result.IsCompleted)
            {
                await reader.CompleteAsync().ConfigureAwait(false);
                yield break;
            }
        }
    }

    public void RotateEndpoint()
    {
        Interlocked.Increment(ref _current);
        _token = null;
    }

    public void Dispose() => _http.Dispose();

    private async Task<byte[]> PostAsync(string endpoint, string path, string json, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        using var response = await SendAsync(endpoint, path, json, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
    }

    /// <summary>Sends with the auth token, authenticating first and once more if etcd says the token is stale.</summary>
    private async Task<HttpResponseMessage> SendAsync(string endpoint, string path, string json, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var request = Request(endpoint, path, json);
            // Makes etcd end a watch when its member loses the raft leader, instead of going quiet.
            request.Headers.Add("Grpc-Metadata-hasleader", "true");
            if (_options.Username is not null)
            {
                _token ??= await AuthenticateAsync(endpoint, cancellationToken).ConfigureAwait(false);
                // The gateway takes the bare token, without "Bearer".
                request.Headers.TryAddWithoutValidation("Authorization", _token);
            }

            var response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            string error = EtcdJson.ErrorMessage(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            response.Dispose();
            bool staleToken = response.StatusCode == HttpStatusCode.Unauthorized || error.Contains("user name is empty", StringComparison.Ordinal);
            if (staleToken && _options.Username is not null && attempt == 0)
            {
                _token = null;
                continue;
            }
            throw new EtcdException($"{endpoint}: HTTP {(int)response.StatusCode} {error}");
        }
    }

    private async Task<string> AuthenticateAsync(string endpoint, CancellationToken cancellationToken)
    {
        using var request = Request(endpoint, "/v3/auth/authenticate", EtcdJson.AuthenticateRequest(_options.Username!, _options.Password ?? ""));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new EtcdException($"{endpoint}: authentication as {_options.Username} failed: {EtcdJson.ErrorMessage(body)}");
        }
        LogAuthenticated(endpoint, _options.Username!);
        return EtcdJson.ParseToken(body);
    }

    private static HttpRequestMessage Request(string endpoint, string path, string json) =>
        new(HttpMethod.Post, endpoint.TrimEnd('/') + path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    [LoggerMessage(400, LogLevel.Information, "etcd {Endpoint}: authenticated as {User}")]
    private partial void LogAuthenticated(string endpoint, string user);
}
