package dev.kiln.spec;

import dev.kiln.KilnException;
import java.util.List;
import java.util.stream.Collectors;

/** A spec broke one or more of the rules in {@link SpecRules}; every problem is listed. */
public final class InvalidSpecException extends KilnException {
  private static final long serialVersionUID = 1L;
  private final transient List<SpecProblem> problems;

  public InvalidSpecException(List<SpecProblem> problems) {
    super(problems.stream().map(SpecProblem::toString).collect(Collectors.joining("\n  ", "invalid model spec:\n  ", "")));
    this.problems = List.copyOf(problems);
  }

  public List<SpecProblem> problems() {
    return problems;
  }
}
