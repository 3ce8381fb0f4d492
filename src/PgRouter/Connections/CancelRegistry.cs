using System.Collections.Concurrent;
using System.Security.Cryptography;
using PgRouter.Protocol;
using PgRouter.Servers;

namespace PgRouter.Connections;

/// <summary>A client's entry: the key PgRouter gave it, and the server it is attached to, if any.</summary>
internal sealed class CancelEntry(CancelKey clientKey, string clientAddress)
{
    public CancelKey ClientKey { get; } = clientKey;

    public string ClientAddress { get; } = clientAddress;

    public ServerCancelTarget? Server { get; set; }
}

/// <summary>
/// PgRouter hands every client its own BackendKeyData, so the client never learns server keys and a
/// cancel can follow the client to whichever server it uses. Process ids stay positive: some
/// clients assume so.
/// </summary>
/// <param name="peerId">Peering:Id, carried in every process id handed out; 0 without peering.</param>
internal sealed class CancelRegistry(int peerId)
{
    private readonly ConcurrentDictionary<int, CancelEntry> _byProcessId = new();
    private int _lastSerial = RandomNumberGenerator.GetInt32(1, int.MaxValue / 2);

    public CancelEntry Register(string clientAddress)
    {
        while (true)
        {
            int serial = Interlocked.Increment(ref _lastSerial);
            int processId = peerId == 0 ? serial & int.MaxValue : CancelKeys.ProcessId(peerId, serial);
            if (processId == 0)
            {
                continue;
            }
            var entry = new CancelEntry(new CancelKey(processId, RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue)), clientAddress);
            if (_byProcessId.TryAdd(processId, entry))
            {
                return entry;
            }
        }
    }

    public void Unregister(CancelEntry entry) => _byProcessId.TryRemove(KeyValuePair.Create(entry.ClientKey.ProcessId, entry));

    /// <summary>The entry the key belongs to; the secret is compared in constant time.</summary>
    public CancelEntry? Find(CancelKey key)
    {
        if (!_byProcessId.TryGetValue(key.ProcessId, out var entry))
        {
            return null;
        }
        Span<byte> expected = stackalloc byte[4], given = stackalloc byte[4];
        BitConverter.TryWriteBytes(expected, entry.ClientKey.SecretKey);
        BitConverter.TryWriteBytes(given, key.SecretKey);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? entry : null;
    }
}
