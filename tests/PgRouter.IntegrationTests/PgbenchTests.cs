using System.Text.RegularExpressions;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>pgbench, a real and demanding client, runs through PgRouter without a failed transaction.</summary>
[Collection(BedCollection.Name)]
public sealed partial class PgbenchTests(BedFixture bed)
{
    private static readonly Dictionary<string, string> Password = new() { ["PGPASSWORD"] = "app" };

    private Task<CommandResult> PgbenchAsync(params string[] arguments) =>
        Commands.RunAsync("pgbench", ["-h", "127.0.0.1", "-p", bed.Router.ReadWritePort.ToString(), "-U", "app", .. arguments, "app"], TimeSpan.FromMinutes(3), Password);

    [Fact]
    public async Task TpcBAndSelectOnly_FinishWithoutFailedTransactions()
    {
        await bed.Router.WaitForSteadyAsync();

        var init = await PgbenchAsync("-i", "-s", "1", "-q");
        Assert.True(init.ExitCode == 0, init.Output);

        foreach (string[] run in new[] { new[] { "-c", "8", "-j", "2", "-T", "20" }, new[] { "-c", "8", "-j", "2", "-T", "20", "-S" } })
        {
            var result = await PgbenchAsync(run);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Matches(FailedNone(), result.Stdout);
            long processed = long.Parse(Processed().Match(result.Stdout).Groups[1].Value);
            Assert.True(processed > 1000, result.Stdout);
        }
    }

    [GeneratedRegex(@"number of failed transactions: 0 \(0\.000%\)")]
    private static partial Regex FailedNone();

    [GeneratedRegex(@"number of transactions actually processed: (\d+)")]
    private static partial Regex Processed();
}
