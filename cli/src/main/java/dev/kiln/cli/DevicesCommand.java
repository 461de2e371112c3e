package dev.kiln.cli;

import dev.kiln.KilnException;
import dev.kiln.model.TornadoBridge;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code kiln devices}: the TornadoVM devices {@code --backend tornado --device B:D} can choose.
 */
@Command(
    name = "devices",
    mixinStandardHelpOptions = true,
    description =
        "Lists the TornadoVM devices (backend:device) for --backend tornado --device B:D.")
final class DevicesCommand implements Callable<Integer> {
  @Spec CommandSpec command;

  @Override
  public Integer call() {
    var reason = TornadoBridge.unavailableReason();
    if (reason.isPresent()) {
      throw new KilnException("no TornadoVM devices: " + reason.get());
    }
    PrintWriter out = command.commandLine().getOut();
    for (String device : TornadoBridge.devices()) {
      out.println(device);
    }
    out.flush();
    return 0;
  }
}
