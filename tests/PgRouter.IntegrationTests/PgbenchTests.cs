using System.Text.RegularExpressions;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>pgbench, a real and demanding client, runs through PgRouter's transaction pooling without a failed transaction.</summary>
[Collection(BedCollection.Name)]
public sealed partial class PgbenchTests(BedFixture bed)
{
    private static readonly Dictionary<string, string> Password = new() { ["PGPASSWORD"] = "app" };

    private Task<CommandResult> PgbenchAsync(params string[] arguments) =>
        Commands.RunAsync("pgbench", ["-h", "127.0.0.1", "-p", bed.Router.ReadWritePort.ToString(), "-U", "app", .. arguments, "app"], TimeSpan.FromMinutes(5), Password);

    [Theory]
    [InlineData("simple")]
    [InlineData("extended")]
    [InlineData("prepared")]
    public async Task FiveHundredClients_ShareAPoolOfTwenty_TpcBCompletes(string protocol)
    {
        await bed.Router.WaitForSteadyAsync();
        var init = await PgbenchAsync("-i", "-s", "1", "-q");
        Assert.True(init.ExitCode == 0, init.Output);

        // The pool never holds more than its 20 connections, however many clients there are.
        int most = 0;
        using var done = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                most = Math.Max(most, await bed.Router.LargestPoolAsync("app"));
                await Task.Delay(50);
            }
        });
        var result = await PgbenchAsync("-M", protocol, "-c", "500", "-j", "4", "-t", "10");
        await done.CancelAsync();
        await watch;

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Matches(FailedNone(), result.Stdout);
        Assert.Equal("5000", Processed().Match(result.Stdout).Groups[1].Value);
        Assert.InRange(most, 1, 20);
    }

    [Fact]
    public async Task SelectOnly_PreparedAndSimple_OnTheReadOnlyListener()
    {
        await bed.Router.WaitForSteadyAsync();
        foreach (string protocol in new[] { "simple", "prepared" })
        {
            var result = await Commands.RunAsync("pgbench",
                ["-h", "127.0.0.1", "-p", bed.Router.ReadOnlyPort.ToString(), "-U", "app", "-n", "-S", "-M", protocol, "-c", "8", "-j", "2", "-t", "500", "app"],
                TimeSpan.FromMinutes(3), Password);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Matches(FailedNone(), result.Stdout);
            Assert.Equal("4000", Processed().Match(result.Stdout).Groups[1].Value);
        }
    }

    [GeneratedRegex(@"number of failed transactions: 0 \(0\.000%\)")]
    private static partial Regex FailedNone();

    [GeneratedRegex(@"number of transactions actually processed: (\d+)")]
    private static partial Regex Processed();
}
