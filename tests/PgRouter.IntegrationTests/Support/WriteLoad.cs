using System.Collections.Concurrent;
using Npgsql;

namespace PgRouter.IntegrationTests.Support;

/// <summary>
/// Applications writing through PgRouter while something happens to the cluster: each writer
/// keeps one connection and inserts a row every few milliseconds, like a real application it
/// reconnects after an error; every acknowledged id and every error is kept.
/// </summary>
internal sealed class WriteLoad : IAsyncDisposable
{
    public const string Table = "write_load";
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _writers = [];
    private readonly ConcurrentQueue<long> _acknowledged = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private WriteLoad(string connectionString, int writers)
    {
        for (int writer = 0; writer < writers; writer++)
        {
            int id = writer;
            _writers.Add(Task.Run(() => WriteAsync(connectionString, id)));
        }
    }

    public IReadOnlyCollection<long> Acknowledged => _acknowledged;

    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>Makes the table empty, then starts the writers.</summary>
    public static async Task<WriteLoad> StartAsync(string connectionString, int writers)
    {
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand(
                $"create table if not exists {Table} (id bigint primary key, at timestamptz not null default clock_timestamp()); truncate {Table}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new WriteLoad(connectionString, writers);
    }

    /// <summary>Waits until <paramref name="more"/> further rows have been acknowledged.</summary>
    public Task WaitForAcknowledgedAsync(int more, TimeSpan timeout)
    {
        int target = _acknowledged.Count + more;
        return Poll.UntilAsync(() => _acknowledged.Count >= target || _writers.Any(w => w.IsFaulted), timeout, $"{target} acknowledged writes");
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
    }

    /// <summary>Acknowledged ids that the given server does not have.</summary>
    public async Task<List<long>> MissingOnAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select array_agg(id) from {Table}", connection);
        var stored = (await command.ExecuteScalarAsync()) is long[] ids ? ids.ToHashSet() : [];
        return [.. _acknowledged.Where(id => !stored.Contains(id))];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WriteAsync(string connectionString, int writer)
    {
        long next = writer * 1_000_000L;
        NpgsqlConnection? connection = null;
        while (!_stop.IsCancellationRequested)
        {
            long id = next++;
            try
            {
                if (connection is null)
                {
                    connection = new NpgsqlConnection(connectionString);
                    await connection.OpenAsync();
                }
                await using var insert = new NpgsqlCommand($"insert into {Table} (id) values ($1)", connection) { Parameters = { new() { Value = id } } };
                await insert.ExecuteNonQueryAsync();
                _acknowledged.Enqueue(id);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                _errors.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} writer {writer}: {e.Message}");
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }
            }
            try
            {
                await Task.Delay(Pace, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }
}
